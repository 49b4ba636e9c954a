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
    errors = [m.strip().splitlines()[-1][:80] for m in bag.import_errors.values()]
    print(f"{t2 - t1:.3f} {len(bag.dags)} {errors[0] if errors else ''}".rstrip())
    """
)


def _parse(dag_file: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """Seconds to parse ``dag_file``, the DAGs found, and its import error (empty when none)."""
    out = subprocess.run(
        [sys.executable, "-c", _PARSE, str(dag_file)], env=env, capture_output=True, text=True, check=True
    ).stdout.strip().splitlines()[-1].split(" ", 2)
    return float(out[0]), int(out[1]), out[2] if len(out) > 2 else ""


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
        single = Path(tmp) / "all_monitors_dag.py"
        single.write_text("from gapwatch.airflow.dags import monitor_dags\nglobals().update(monitor_dags())\n")
        ref_seconds, _, _ = _parse(reference, env)
        print(f"reference: one-task DAG file parses in {ref_seconds:.3f}s")
        for n in sizes:
            monitors = Path(tmp) / f"monitors_{n}"
            monitors.mkdir()
            for i in range(n):
                spec = {**base, "name": f"model_{i:04d}"}
                (monitors / f"model_{i:04d}.yml").write_text(yaml.safe_dump(spec))
            menv = {**env, "GAPWATCH_MONITORS_DIR": str(monitors)}
            files = [*sorted((ROOT / "dags").glob("gapwatch_monitors_*.py")), ROOT / "dags" / "gapwatch_spec_errors.py"]
            timed = {f.name: _parse(f, menv) for f in files}
            slowest = max(timed, key=lambda name: timed[name][0])
            seconds, total = timed[slowest][0], sum(t for t, _, _ in timed.values())
            errors = {name: error for name, (_, _, error) in timed.items() if error}
            one_file, one_dags, one_error = _parse(single, menv)  # the former layout: one file
            print(
                f"{n:5d} specs -> {sum(d for _, d, _ in timed.values()):5d} DAGs in {len(timed)} files: slowest "
                f"{slowest} {seconds:.3f}s ({seconds / ref_seconds:.1f}x the reference, "
                f"{seconds / one_file:.2f}x one file of every monitor); all files {total:.3f}s "
                f"({total / ref_seconds:.1f}x; {1000 * total / n:.1f} ms/spec){' ERRORS ' + str(errors) if errors else ''}"
            )
            print(
                f"      one file of every monitor (the former layout): {one_file:.3f}s "
                f"({one_file / ref_seconds:.1f}x the reference), {one_dags} DAGs {one_error}. Airflow's "
                "dagbag_import_timeout is 30s per file"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 100, 1000])
