"""How long the DAG processor spends on gapwatch's DAG files as the fleet grows.

Generates N copies of the demo spec into a temporary monitors folder and times a DagBag parse of
each monitor shard file (dags/gapwatch_monitors_<i>.py, each in its own process, as Airflow's
DAG processor parses them) and of dags/gapwatch_spec_errors.py, against a reference parse of a
one-DAG file in the same process setup (the cost of Airflow itself). Reports the slowest file
(what meets Airflow's per-file import timeout), the total, and their ratios to the reference.

    .venv/bin/python bench/parse_specs.py [N ...]      # default: 1 100 1000
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

_PARSE = textwrap.dedent(
    """
    import sys, time
    t0 = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag
    t1 = time.perf_counter()
    bag = DagBag(dag_folder=sys.argv[1])
    t2 = time.perf_counter()
    assert not bag.import_errors, bag.import_errors
    print(f"{t2 - t1:.3f} {len(bag.dags)}")
    """
)


def _parse(dag_file: Path, env: dict[str, str]) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PARSE, str(dag_file)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[-2]), int(out[-1])


def main(sizes: list[int]) -> None:
    base = yaml.safe_load((ROOT / "include" / "monitors" / "credit_default.yml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AIRFLOW_HOME": f"{tmp}/airflow", "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        reference = Path(tmp) / "reference_dag.py"
        reference.write_text(
            "from airflow.sdk import dag, task\n"
            "@dag(schedule=None)\n"
            "def reference():\n"
            "    @task\n"
            "    def one():\n"
            "        pass\n"
            "    one()\n"
            "reference()\n"
        )
        ref_seconds, _ = _parse(reference, env)
        print(f"reference: one-task DAG file parses in {ref_seconds:.3f}s")
        for n in sizes:
            monitors = Path(tmp) / f"monitors_{n}"
            monitors.mkdir()
            for i in range(n):
                spec = {**base, "name": f"model_{i:04d}"}
                (monitors / f"model_{i:04d}.yml").write_text(yaml.safe_dump(spec))
            menv = {**env, "GAPWATCH_MONITORS_DIR": str(monitors)}
            shards = sorted((ROOT / "dags").glob("gapwatch_monitors_*.py"))
            timed = [_parse(f, menv) for f in [*shards, ROOT / "dags" / "gapwatch_spec_errors.py"]]
            slowest, total = max(t for t, _ in timed), sum(t for t, _ in timed)
            dags = sum(d for _, d in timed)
            print(
                f"{n:5d} specs -> {dags:5d} DAGs in {len(timed)} files: slowest file {slowest:.3f}s "
                f"({slowest / ref_seconds:.1f}x the reference), all files {total:.3f}s "
                f"({total / ref_seconds:.1f}x; {1000 * total / n:.1f} ms/spec). Airflow's "
                "dagbag_import_timeout is 30s per file"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 100, 1000])
