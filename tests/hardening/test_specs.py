"""Issue 13 item 3: one bad spec file is that file's clear error; the good monitors still load.

Each case plants one malformed file next to the demo specs and checks ``load_specs``,
``gapwatch validate`` (in a subprocess, so a segfault shows as a return code) and a DagBag of
both DAG files: one error naming the file, every good monitor still there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gapwatch.spec import load_specs

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "include" / "monitors"
GOOD = sorted(p.stem for p in DEMO.glob("*.yml"))


def _spec_text(name: str, mutate: Callable[[dict], None] | None = None) -> str:
    data = yaml.safe_load((DEMO / "credit_default.yml").read_text())
    data["name"] = name
    if mutate:
        mutate(data)
    return yaml.safe_dump(data, allow_unicode=True)


def _quoted_baseline_end(folder: Path) -> Path:
    text = _spec_text("quoted_end").replace("end: 2026-01-19", "end: '2026-01-19'")
    assert "end: '2026-01-19'" in text
    path = folder / "quoted_end.yml"
    path.write_text(text)
    return path


def _huge_duration(folder: Path) -> Path:
    def mutate(d: dict) -> None:
        d["ground_truth"]["delay"] = "99999999999999d"

    path = folder / "huge_delay.yml"
    path.write_text(_spec_text("huge_delay", mutate))
    return path


def _directory(folder: Path) -> Path:
    path = folder / "a_directory.yml"
    path.mkdir()
    return path


def _latin1(folder: Path) -> Path:
    path = folder / "latin_one.yml"
    text = _spec_text("latin_one", lambda d: d.update(description="Modèle de crédit à risque"))
    assert "è" in text
    path.write_bytes(text.encode("latin-1"))
    return path


def _nesting_bomb(folder: Path) -> Path:
    path = folder / "deep_nesting.yml"
    path.write_text("name: deep_nesting\nx: " + "[" * 40_000 + "]" * 40_000 + "\n")
    return path


def _block_nesting(folder: Path) -> Path:
    path = folder / "deep_block.yml"
    path.write_text("name: deep_block\nx:\n" + "".join(" " * i + "- \n" for i in range(1, 200)) + " " * 200 + "- 1\n")
    return path


def _too_large(folder: Path) -> Path:
    path = folder / "too_large.yml"
    path.write_text(_spec_text("too_large") + "# " + "x" * 400_000 + "\n")
    return path


def _symlink_out(folder: Path) -> Path:
    secret = folder.parent / "secret.txt"
    secret.write_text("name: TOP-SECRET-PASSWORD\n")
    path = folder / "outside.yml"
    path.symlink_to(secret)
    return path


def _duplicate_key(folder: Path) -> Path:
    text = _spec_text("duplicate_key").replace("task: binary_classification", "task: binary_classification\ntask: regression")
    path = folder / "duplicate_key.yml"
    path.write_text(text)
    return path


def _upper_suffix(folder: Path) -> Path:
    path = folder / "upper_suffix.YML"
    path.write_text(_spec_text("upper_suffix"))
    return path


CASES = {
    "quoted baseline end": (_quoted_baseline_end, "baseline"),
    "huge duration": (_huge_duration, "ground_truth.delay"),
    "directory named x.yml": (_directory, "not a regular file"),
    "latin-1 file": (_latin1, "not UTF-8"),
    "80 KB of flow nesting": (_nesting_bomb, "nested deeper than"),
    "deep block nesting": (_block_nesting, "nested deeper than"),
    "a 400 KB file": (_too_large, "larger than"),
    "symlink out of the folder": (_symlink_out, "symlink pointing outside"),
    "duplicate key": (_duplicate_key, "duplicate key 'task'"),
    "upper-case suffix": (_upper_suffix, "lowercase .yml"),
}


@pytest.fixture
def monitors(tmp_path: Path) -> Path:
    folder = tmp_path / "monitors"
    shutil.copytree(DEMO, folder)
    return folder


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_bad_file_is_one_clear_error_and_the_good_monitors_load(monitors: Path, case: str) -> None:
    make, expected = CASES[case]
    bad = make(monitors)

    loaded = load_specs(monitors)

    if case == "quoted baseline end":
        # A quoted date is a valid date: it parses, aware, instead of crashing the comparison.
        assert not loaded.errors
        spec = loaded.by_name("quoted_end")
        assert spec.baseline.end is not None and spec.baseline.end.tzinfo is not None
        return
    assert sorted(s.name for s in loaded.specs) == GOOD
    assert len(loaded.errors) == 1, loaded.errors
    message = str(loaded.errors[0])
    assert message.startswith(str(bad)) and expected in message
    assert "TOP-SECRET" not in message


@pytest.mark.parametrize("case", ["80 KB of flow nesting", "symlink out of the folder", "huge duration", "latin-1 file"])
def test_validate_names_the_file_and_never_crashes(monitors: Path, case: str, tmp_path: Path) -> None:
    make, expected = CASES[case]
    bad = make(monitors)
    env = {**os.environ, "GAPWATCH_DEMO_SOURCE_URL": "sqlite:///" + str(tmp_path / "demo.db")}

    done = subprocess.run(
        [sys.executable, "-m", "gapwatch.cli.main", "validate", str(monitors)],
        capture_output=True, text=True, env=env, timeout=120,
    )

    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert f"error  {bad}" in done.stderr and expected in done.stderr
    assert "TOP-SECRET" not in done.stdout + done.stderr
    for name in GOOD:
        assert f"ok     {name}" in done.stdout


def test_both_dag_files_load_every_good_monitor_beside_bad_files(
    monitors: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    for case, (make, _) in CASES.items():
        if case != "quoted baseline end":
            make(monitors)
    monkeypatch.setenv("GAPWATCH_MONITORS_DIR", str(monitors))

    bag = DagBag(dag_folder=str(ROOT / "dags"))

    assert sorted(d for d in bag.dag_ids if d.startswith("gapwatch__")) == [f"gapwatch__{n}" for n in GOOD]
    (path, message), = bag.import_errors.items()
    assert path.endswith("gapwatch_spec_errors.py")
    assert f"{len(CASES) - 1} monitor spec(s) cannot be loaded" in message
    assert "TOP-SECRET" not in message
