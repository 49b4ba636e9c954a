"""A window run reads once: the baseline summary is computed once on a monitor's first run even with
performance and drift in parallel, each extract file is read once, the source is resolved once.

Counted over the real stages on the demo data: rows summarised by ``summarize_reference`` (a spy
that calls the real function), ``pandas.read_parquet`` calls per file, and resolutions of
``source.conn_id`` by a resolver installed the way the Airflow adapter installs its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gapwatch import baseline, pipeline, policy, sources
from gapwatch.airflow.channels import default_senders
from gapwatch.demo.seed import window_bounds
from gapwatch.evaluation import assessment
from gapwatch.spec import MonitorSpec, load_specs
from gapwatch.window import Window
from gapwatch.window_run import window_run

pytestmark = pytest.mark.integration

def _memory_path(spec: MonitorSpec) -> MonitorSpec:
    """The spec on the memory path (``compute_in: memory``, the suite validated in memory too):
    the one that writes extracts and reads them."""
    readiness = spec.readiness.model_copy(update={"validate_in": "memory"})
    return spec.model_copy(update={"compute_in": "memory", "readiness": readiness})


FIRST_JUDGED = 3  # the first demo window whose cohort has matured labels (so every stage reads)


@pytest.fixture
def summaries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts of every baseline summary computed (the real summary is still computed)."""
    computed: list[int] = []
    real = assessment.summarize_reference

    def counting(spec: MonitorSpec, frame: pd.DataFrame, labeled: pd.DataFrame) -> dict[str, Any]:
        computed.append(len(frame))
        return real(spec, frame, labeled)

    monkeypatch.setattr(assessment, "summarize_reference", counting)
    return computed


@pytest.fixture
def parquet_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each Parquet file was read, by file name (window.parquet, cohort.parquet)."""
    reads: Counter[str] = Counter()
    real = pd.read_parquet

    def counting(path: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
        reads[Path(path).name] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", counting)
    return reads


@pytest.fixture
def conn_id_spec(demo_env: Path, demo_source: str) -> Iterator[tuple[MonitorSpec, list[str]]]:
    """credit_default reading its source through ``source.conn_id``, and the resolutions made."""
    resolved: list[str] = []
    lock = threading.Lock()

    def resolver(conn_id: str) -> str:
        with lock:
            resolved.append(conn_id)
        return demo_source

    spec = _memory_path(load_specs().by_name("credit_default"))
    spec = spec.model_copy(update={"source": spec.source.model_copy(update={"url_env": None, "conn_id": "prod_db"})})
    sources.use_connection_resolver(resolver)
    try:
        yield spec, resolved
    finally:
        sources.use_connection_resolver(None)


def _stages_as_the_dag_runs_them(spec_for: Callable[[], MonitorSpec], window: Window) -> dict[str, Any]:
    """extract -> readiness -> (performance | drift in two threads) -> decide -> publish.

    ``spec_for`` gives each stage its spec: the same object (one process, like ``dag.test()``) or
    a freshly parsed one (like a deployment where every task parses the DAG file anew).
    """
    extract = pipeline.extract_window(spec_for(), window)
    readiness = pipeline.check_readiness(spec_for(), window)
    barrier = threading.Barrier(2)  # both start together: the race a first run would have

    def stage(fn: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        spec = spec_for()
        barrier.wait()
        return fn(spec, window, readiness["ready"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        performance = pool.submit(stage, pipeline.evaluate_performance)
        drift = pool.submit(stage, pipeline.evaluate_drift)
        perf_summary, drift_summary = performance.result(), drift.result()
    spec = spec_for()
    findings = policy.decide(spec, readiness, perf_summary, drift_summary)
    return pipeline.publish(spec, window, extract, readiness, perf_summary, drift_summary, findings,
                            senders=default_senders())


def test_first_run_summarises_the_baseline_once_with_parallel_stages(demo_env: Path, summaries: list[int]) -> None:
    # Every stage parses its own spec, as separate task processes do: nothing is shared in memory,
    # only the store; performance and drift start at the same moment.
    def parsed() -> MonitorSpec:
        return _memory_path(load_specs().by_name("credit_default"))

    spec = parsed()
    reference_rows = len(sources.read_window(spec, spec.baseline.start, spec.baseline.end))
    assert baseline.stored(spec) is None

    first = _stages_as_the_dag_runs_them(parsed, Window(*window_bounds(FIRST_JUDGED)))
    assert summaries == [reference_rows]  # once, by check_readiness, before the fork
    assert baseline.stored(spec) is not None
    assert first["status"] == "healthy"

    _stages_as_the_dag_runs_them(parsed, Window(*window_bounds(FIRST_JUDGED + 1)))
    assert summaries == [reference_rows]  # the second run only loads it


def test_one_process_reads_each_extract_once_and_resolves_the_source_once(
    conn_id_spec: tuple[MonitorSpec, list[str]], parquet_reads: Counter[str], summaries: list[int]
) -> None:
    spec, resolved = conn_id_spec
    window = Window(*window_bounds(FIRST_JUDGED))

    result = _stages_as_the_dag_runs_them(lambda: spec, window)  # one spec object: dag.test()
    assert result["status"] == "healthy"
    assert parquet_reads == {"window.parquet": 1, "cohort.parquet": 1}
    assert resolved == ["prod_db"]  # extract, readiness profile and baseline share one resolution
    assert len(summaries) == 1

    parquet_reads.clear()
    resolved.clear()
    pipeline.run_window(spec, window, senders=default_senders())  # the CLI's rerun of the window
    assert parquet_reads == {"window.parquet": 1, "cohort.parquet": 1}  # rewritten files, read again
    assert resolved == ["prod_db"]  # a new run resolves again (an edited connection is picked up)
    assert len(summaries) == 1


def test_each_task_process_reads_only_what_it_needs_once(
    conn_id_spec: tuple[MonitorSpec, list[str]], parquet_reads: Counter[str]
) -> None:
    spec, resolved = conn_id_spec
    window = Window(*window_bounds(FIRST_JUDGED))

    def task_process() -> MonitorSpec:
        return spec.model_copy()  # a new object: a task process shares nothing with the others

    per_stage: dict[str, Counter[str]] = {}
    pipeline.extract_window(task_process(), window)
    for name, stage in (("readiness", lambda s: pipeline.check_readiness(s, window)),
                        ("performance", lambda s: pipeline.evaluate_performance(s, window, True)),
                        ("drift", lambda s: pipeline.evaluate_drift(s, window, True))):
        parquet_reads.clear()
        stage(task_process())
        per_stage[name] = Counter(parquet_reads)
    assert per_stage == {
        "readiness": {"window.parquet": 1},
        "performance": {"cohort.parquet": 1, "window.parquet": 1},  # the cohort; the window for the estimate
        "drift": {"window.parquet": 1},
    }
    assert resolved == ["prod_db", "prod_db"]  # extract; readiness (baseline profile and summary)


def test_a_rewritten_extract_is_read_again(demo_env: Path, parquet_reads: Counter[str]) -> None:
    spec = _memory_path(load_specs().by_name("credit_default"))
    window = Window(*window_bounds(FIRST_JUDGED))
    pipeline.extract_window(spec, window)
    run = window_run(spec, window)
    first = run.frame("window")
    first["utilization"] = 0.0  # a stage changing its frame never changes the next stage's
    assert run.frame("window")["utilization"].ne(0.0).any()
    assert parquet_reads == {"window.parquet": 1}

    first.iloc[:10].to_parquet(run.path("window"), index=False)  # the file changes under the run
    assert len(run.frame("window")) == 10
    assert parquet_reads == {"window.parquet": 2}


def test_dag_test_reads_each_extract_once_and_asks_airflow_for_the_connection_once(
    airflow_db: Path, demo_env: Path, demo_source: str, monkeypatch: pytest.MonkeyPatch,
    parquet_reads: Counter[str], summaries: list[int],
) -> None:
    """The real DAG in one process (``dag.test()``), its source an Airflow connection."""
    import json

    from airflow.sdk import BaseHook

    from gapwatch.airflow.dags import build_dag

    monkeypatch.setenv("AIRFLOW_CONN_PROD_DB", json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": demo_source}}))
    asked: list[str] = []
    real = BaseHook.get_connection

    def counting(cls: type, conn_id: str) -> Any:
        asked.append(conn_id)
        return real(conn_id)

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(counting))
    spec = _memory_path(load_specs().by_name("credit_default"))
    spec = spec.model_copy(update={"source": spec.source.model_copy(update={"url_env": None, "conn_id": "prod_db"})})
    dag = build_dag(spec)
    try:
        dag_run = dag.test(logical_date=window_bounds(FIRST_JUDGED)[1])
    finally:
        sources.use_connection_resolver(None)
    assert str(dag_run.state).lower().endswith("success")
    assert parquet_reads == {"window.parquet": 1, "cohort.parquet": 1}
    assert asked == ["prod_db"]
    assert len(summaries) == 1
