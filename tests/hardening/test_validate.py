"""Issue 13 item 5: ``gapwatch validate`` catches what would otherwise fail silently later.

A cron that never fires (the DAG is never scheduled), limits no metric can meet, an unset
``url_env`` (every run fails to connect) and non-http(s) links (rendered as clickable links).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from gapwatch.cli.main import main

pytestmark = pytest.mark.hardening

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "include" / "monitors" / "credit_default.yml"


def _validate(tmp_path: Path, mutate: Callable[[dict], None], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    data = yaml.safe_load(DEMO_SPEC.read_text())
    mutate(data)
    (tmp_path / "credit_default.yml").write_text(yaml.safe_dump(data))
    code = main(["validate", str(tmp_path)])
    return code, capsys.readouterr().err


def _set(path: str, value: object) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set("schedule", "0 0 30 2 *"), "schedule '0 0 30 2 *' never fires"),
        (_set("metrics.0.floor", 5.0), "floor 5 is outside roc_auc's range [0, 1]"),
        (_set("metrics.0.min_labels", 1e30), "metrics.0.min_labels"),
        (_set("metrics.0.max_drop", 2.0), "max_drop 2 is not below roc_auc's whole range"),
        (_set("runbook_url", "javascript:alert(document.cookie)"), "runbook_url: Value error, must be an http"),
        (_set("runbook_url", "JavaScript://%0aalert(1)"), "runbook_url: Value error, must be an http"),
        (_set("fallback", "see [the page](javascript:alert(1))"), "fallback: only http(s) links are allowed, found a javascript: URL"),
        (_set("description", "docs at ftp://files.example.com/x"), "description: only http(s) links are allowed, found a ftp: URL"),
    ],
    ids=["never-firing-cron", "floor-5-on-auc", "min-labels-1e30", "max-drop-2", "javascript-runbook",
         "javascript-slashes", "javascript-in-text", "ftp-link"],
)
def test_validate_rejects_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    mutate: Callable[[dict], None], expected: str,
) -> None:
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")
    code, err = _validate(tmp_path, mutate, capsys)
    assert code == 1
    assert "credit_default.yml" in err and expected in err, err


def test_an_unset_url_env_is_an_error_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GAPWATCH_DEMO_SOURCE_URL", raising=False)
    code, err = _validate(tmp_path, lambda d: None, capsys)
    assert code == 1
    assert "source.url_env: the environment variable GAPWATCH_DEMO_SOURCE_URL is not set" in err
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")
    assert _validate(tmp_path, lambda d: None, capsys)[0] == 0


def test_sensible_values_still_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")

    def mutate(data: dict) -> None:
        data["schedule"] = "0 0 29 2 *"  # leap days: fires every four years
        data["metrics"][0]["floor"] = 1.0
        data["description"] = "see https://wiki.example.com/credit at 08:00 (rule set CR-7: manual)"

    code, err = _validate(tmp_path, mutate, capsys)
    assert code == 0, err
