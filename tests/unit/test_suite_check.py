"""``gapwatch validate`` checks suite files: expectation types GX knows, columns the table has, kwargs
GX accepts; each error names the file and the expectation's index.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gapwatch.cli.main import main
from gapwatch.readiness.suite_check import check_suite
from gapwatch.spec import load_specs

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "include" / "monitors" / "credit_default.yml"
SUITE = ROOT / "include" / "expectations" / "credit_default_inputs.json"


@pytest.fixture
def suites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo suite in an expectations dir of its own (the source is unreachable)."""
    folder = tmp_path / "expectations"
    folder.mkdir()
    shutil.copy(SUITE, folder / SUITE.name)
    monkeypatch.setenv("GAPWATCH_EXPECTATIONS_DIR", str(folder))
    monkeypatch.delenv("GAPWATCH_DEMO_SOURCE_URL", raising=False)
    return folder


def _edit(path: Path, index: int, **entry: object) -> None:
    suite = json.loads(path.read_text())
    suite["expectations"][index].update(entry)
    path.write_text(json.dumps(suite))


def test_the_shipped_suite_passes(suites: Path) -> None:
    spec = load_specs().by_name("credit_default")
    check = check_suite(spec, suites / SUITE.name)
    assert check.errors == [] and check.columns_from == "spec"


def test_misspelled_type_unknown_column_and_bad_kwargs_name_file_and_index(
    suites: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = suites / SUITE.name
    _edit(path, 2, type="expect_column_values_to_not_be_nul")
    _edit(path, 3, kwargs={"column": "scored_att"})
    _edit(path, 4, kwargs={"column": "age", "mostly": 2})
    _edit(path, 18, kwargs={"column": "region"})  # expect_column_values_to_be_in_set without value_set
    specs = tmp_path / "monitors"
    specs.mkdir()
    shutil.copy(DEMO_SPEC, specs / DEMO_SPEC.name)

    assert main(["validate", str(specs)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: expectation #2 (expect_column_values_to_not_be_nul): GX has no expectation type" in err
    assert f"{path}: expectation #3 (expect_column_values_to_not_be_null): column(s) ['scored_att'] not in" in err
    assert f"{path}: expectation #4 (expect_column_values_to_not_be_null): invalid kwargs:" in err
    assert "mostly" in err
    assert f"{path}: expectation #18 (expect_column_values_to_be_in_set): invalid kwargs:" in err
    assert "value_set" in err
    assert "credit_default.yml: readiness.suite" in err


def test_columns_listed_in_the_suites_column_set_are_known_without_the_source(suites: Path) -> None:
    # model_version is not in the spec, but the suite's expect_table_columns_to_match_set lists it
    spec = load_specs().by_name("credit_default")
    suite = json.loads((suites / SUITE.name).read_text())
    assert any(e["kwargs"].get("column") == "model_version" for e in suite["expectations"])
    assert check_suite(spec, suites / SUITE.name).errors == []
