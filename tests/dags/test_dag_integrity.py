"""DAG integrity, in the style of Astronomer's project template: every DAG parses, carries its
owner, tags, retries and docs, and a broken spec is one clear import error, not an outage."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_every_dag_parses_with_owner_tags_retries_and_docs() -> None:
    bag = _dagbag()
    assert bag.import_errors == {}
    monitors = sorted(p.stem for p in (ROOT / "include" / "monitors").glob("*.yml"))
    assert sorted(bag.dag_ids) == [f"gapwatch__{m}" for m in monitors] + ["gapwatch_operations"]
    for dag_id, dag in bag.dags.items():
        if dag_id == "gapwatch_operations":
            continue  # checked in test_the_operations_dag_runs_housekeeping_every_few_minutes
        spec = yaml.safe_load((ROOT / "include" / "monitors" / f"{dag_id.split('__')[1]}.yml").read_text())
        assert "gapwatch" in dag.tags
        assert dag.catchup is True and dag.max_active_runs == 1  # missed windows, in order
        adoption = ["evaluate_adoption"] if spec.get("adoption") else []  # issue 11: only with the section
        assert [t.task_id for t in dag.tasks] == [
            "extract_window", "check_readiness", "evaluate_performance",
            "evaluate_drift", *adoption, "decide", "publish",
        ]
        for t in dag.tasks:
            assert t.owner == spec["owners"]["technical_owner"]["name"]
            assert t.retries >= 1
        for role in ("business_owner", "technical_owner", "data_steward"):
            assert spec["owners"][role]["email"] in dag.doc_md
        assert spec["runbook_url"] in dag.doc_md
        assert spec["fallback"] in dag.doc_md


def test_a_broken_spec_is_one_clear_import_error_and_the_others_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = tmp_path / "monitors"
    shutil.copytree(ROOT / "include" / "monitors", specs)
    broken = yaml.safe_load((specs / "credit_default.yml").read_text())
    broken["name"] = "no_steward"
    del broken["owners"]["data_steward"]
    (specs / "no_steward.yml").write_text(yaml.safe_dump(broken))
    monkeypatch.setenv("GAPWATCH_MONITORS_DIR", str(specs))

    bag = _dagbag()

    assert "gapwatch__credit_default" in bag.dag_ids
    assert "gapwatch__no_steward" not in bag.dag_ids
    assert len(bag.import_errors) == 1
    (path, message), = bag.import_errors.items()
    assert path.endswith("gapwatch_spec_errors.py")
    assert "no_steward.yml" in message
    assert "owners.data_steward" in message


def test_parsing_the_dags_imports_no_heavy_libraries() -> None:
    code = (
        "import runpy, sys; runpy.run_path('dags/gapwatch_monitors_0.py');"
        "runpy.run_path('dags/gapwatch_operations.py');"
        "print(','.join(m for m in ('pandas', 'great_expectations', 'sklearn', 'scipy', 'pyarrow')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""])


def test_the_operations_dag_runs_housekeeping_every_few_minutes() -> None:
    dag = _dagbag().dags["gapwatch_operations"]
    assert "gapwatch" in dag.tags and "operations" in dag.tags
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.timetable.expression == "*/5 * * * *"
    assert sorted(t.task_id for t in dag.tasks) == ["deliver_pending", "enforce_retention", "escalate_overdue",
                                                    "queue_weekly_digests"]
    deliver = dag.get_task("deliver_pending")
    assert deliver.upstream_task_ids == {"escalate_overdue", "queue_weekly_digests"}
    for t in dag.tasks:
        assert t.owner == "gapwatch-platform" and t.retries >= 1
    assert "escalat" in dag.doc_md and "digest" in dag.doc_md and "dead-letter" in dag.doc_md
