"""Issue 13 item 4: specs are parsed once per content, and monitors spread over DAG files.

All monitors came from one DAG file and every spec was parsed twice per parse loop; under load
1,000 specs hit Airflow's import timeout and every monitor disappeared at once.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from gapwatch.spec import load_spec, load_specs

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "monitors" / "credit_default.yml"


def test_a_spec_is_parsed_once_per_content(tmp_path: Path) -> None:
    path = tmp_path / "credit_default.yml"
    shutil.copy(DEMO, path)
    first = load_spec(path)
    assert load_spec(path) is first  # unchanged file: the parsed spec is reused
    assert load_specs(tmp_path).specs[0] is first

    data = yaml.safe_load(path.read_text())
    data["version"] = "9.9.9"
    path.write_text(yaml.safe_dump(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    changed = load_spec(path)
    assert changed is not first and changed.version == "9.9.9"

    # Same size and mtime but other content (a copy preserving times): the hash tells them apart.
    stat = path.stat()
    data["version"] = "9.9.8"
    path.write_text(yaml.safe_dump(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert load_spec(path).version == "9.9.8"


def test_a_broken_spec_stays_broken_from_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "credit_default.yml"
    path.write_text("name: credit_default\n")
    errors = [str(e) for e in load_specs(tmp_path).errors]
    assert errors and [str(e) for e in load_specs(tmp_path).errors] == errors


def test_monitors_spread_over_several_dag_files_none_holding_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    base = yaml.safe_load(DEMO.read_text())
    monitors = tmp_path / "monitors"
    monitors.mkdir()
    names = [f"model_{i:03d}" for i in range(40)]
    for name in names:
        (monitors / f"{name}.yml").write_text(yaml.safe_dump({**base, "name": name}))
    monkeypatch.setenv("GAPWATCH_MONITORS_DIR", str(monitors))

    shards = sorted((ROOT / "dags").glob("gapwatch_monitors_*.py"))
    assert len(shards) >= 4
    per_file = {}
    for shard in shards:
        bag = DagBag(dag_folder=str(shard))
        assert not bag.import_errors
        per_file[shard.name] = sorted(bag.dag_ids)
    every = sorted(d for ids in per_file.values() for d in ids)
    assert every == [f"gapwatch__{n}" for n in names]  # each monitor in exactly one file
    assert max(len(ids) for ids in per_file.values()) <= len(names) // 2, per_file
