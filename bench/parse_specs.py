"""How long the DAG processor spends on gapwatch's DAG file as the fleet grows.

Generates N copies of the demo spec into a temporary monitors folder and times a DagBag parse of
dags/gapwatch_monitors.py, against a reference parse of a one-DAG file in the same process setup
(the cost of Airflow itself). Reports seconds, the per-spec cost and the ratio to the reference.

    .venv/bin/python bench/parse_specs.py [N ...]      # default: 1 100 300
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
            seconds, dags = _parse(ROOT / "dags" / "gapwatch_monitors.py", {**env, "GAPWATCH_MONITORS_DIR": str(monitors)})
            print(
                f"{n:5d} specs -> {dags:5d} DAGs in {seconds:.3f}s "
                f"({1000 * seconds / n:.1f} ms/spec, {seconds / ref_seconds:.1f}x the reference; "
                "Airflow's default dag_file_processor_timeout is 50s)"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 100, 300])
