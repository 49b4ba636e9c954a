from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from gapwatch.cli.main import main
from gapwatch.spec import SpecError, load_spec, load_specs, parse_duration

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "include" / "monitors" / "credit_default.yml"


def _write(tmp_path: Path, name: str, mutate) -> Path:
    data = yaml.safe_load(DEMO_SPEC.read_text())
    data["name"] = name
    mutate(data)
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_demo_spec_parses_into_typed_fields() -> None:
    spec = load_spec(DEMO_SPEC)
    assert spec.dag_id == "gapwatch__credit_default"
    assert spec.ground_truth.delay.duration == timedelta(days=7)
    assert spec.main_metric.name == "roc_auc" and spec.main_metric.higher_is_better
    assert spec.pii_columns == {"customer_email"}
    assert spec.baseline.start.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7d", timedelta(days=7)), ("36h", timedelta(hours=36)), ("2w", timedelta(weeks=2)), (90, timedelta(seconds=90))],
)
def test_durations(text, expected) -> None:
    assert parse_duration(text) == expected


def test_bad_duration_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="e.g. 7d"):
        parse_duration("a week")


def test_spec_without_data_steward_is_rejected_naming_file_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "no_steward", lambda d: d["owners"].pop("data_steward"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert "no_steward.yml" in message
    assert "owners.data_steward" in message
    assert "business_owner, technical_owner and data_steward" in message


def test_unknown_field_and_wrong_choice_name_what_is_allowed(tmp_path: Path) -> None:
    def mutate(d):
        d["task"] = "clustering"
        d["polcy"] = {}

    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, "typos", mutate))
    message = str(err.value)
    assert "task: Input should be 'binary_classification', 'multiclass_classification' or 'regression'" in message
    assert "polcy: unknown field" in message


def test_metric_must_fit_the_task_and_segments_must_be_features(tmp_path: Path) -> None:
    def mutate(d):
        d["metrics"] = [{"name": "mae"}]

    with pytest.raises(SpecError, match="do not apply to task 'binary_classification'"):
        load_spec(_write(tmp_path, "wrong_metric", mutate))
    with pytest.raises(SpecError, match="segments \\['country'\\] must be feature columns"):
        load_spec(_write(tmp_path, "bad_segment", lambda d: d.update(segments=["country"])))


def test_source_needs_exactly_one_of_conn_id_or_url_env(tmp_path: Path) -> None:
    path = _write(tmp_path, "two_sources", lambda d: d["source"].update(conn_id="prod"))
    with pytest.raises(SpecError, match="exactly one of conn_id"):
        load_spec(path)


def test_a_bad_file_never_hides_the_good_ones(tmp_path: Path) -> None:
    shutil.copy(DEMO_SPEC, tmp_path / DEMO_SPEC.name)
    (tmp_path / "garbage.yml").write_text("name: [unclosed")
    loaded = load_specs(tmp_path)
    assert [s.name for s in loaded.specs] == ["credit_default"]
    assert len(loaded.errors) == 1 and "not valid YAML" in str(loaded.errors[0])


def test_validate_command_exit_codes(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GAPWATCH_DEMO_SOURCE_URL", "sqlite://")  # validate checks url_env is set
    shutil.copy(DEMO_SPEC, tmp_path / DEMO_SPEC.name)
    assert main(["validate", str(tmp_path)]) == 0
    _write(tmp_path, "no_steward", lambda d: d["owners"].pop("data_steward"))
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no_steward.yml" in err and "owners.data_steward" in err


def test_metric_thresholds_drift_overrides_and_reference_table_parse(tmp_path: Path) -> None:
    def mutate(d):
        d["metrics"] = [
            {"name": "roc_auc", "max_relative_drop": 0.05, "spread_k": 3, "min_labels": 100},
            {"name": "log_loss", "floor": 0.6},
            {"name": "ece"},
        ]
        d["drift"] = {"methods": None, "features": {"income": {"methods": ["psi"], "threshold": 0.3}},
                      "multivariate": True}
        d["baseline"] = {"table": "credit_test_set", "label": "defaulted", "sub_windows": 8}
        d["readiness"]["volume"] = {"enabled": False}

    spec = load_spec(_write(tmp_path, "rich", mutate))
    assert not spec.metrics[1].higher_is_better and spec.metrics[0].spread_k == 3
    assert spec.drift.methods is None and spec.drift.features["income"].methods == ["psi"]
    assert spec.baseline.describe() == "reference table credit_test_set"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(metrics=[{"name": "mape"}]), "do not apply to task 'binary_classification'"),
        (lambda d: d.update(metrics=[{"name": "auc_roc"}]), "unknown metric 'auc_roc'"),
        (lambda d: d.update(drift={"methods": ["energy"]}), "drift.methods.0"),
        (lambda d: d.update(drift={"features": {"nope": {}}}), "drift.features ['nope'] must be feature columns"),
        (lambda d: d.update(baseline={"start": "2026-01-05"}), "needs both start and end"),
        (lambda d: d.update(baseline={"start": "2026-01-05", "end": "2026-01-19", "table": "t"}), "either start"),
    ],
)
def test_bad_metric_drift_and_baseline_settings_are_named(tmp_path: Path, mutate, expected) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, "bad_one", mutate))
    assert expected in str(err.value)


def test_multiclass_task_takes_multiclass_metrics(tmp_path: Path) -> None:
    def mutate(d):
        d["task"] = "multiclass_classification"
        d["predictions"].pop("score")
        d["metrics"] = [{"name": "f1_macro", "max_drop": 0.05}, {"name": "accuracy"}, {"name": "f1_weighted"}]

    spec = load_spec(_write(tmp_path, "multi", mutate))
    assert spec.task == "multiclass_classification" and spec.main_metric.higher_is_better


def test_a_reference_table_baseline_needs_the_volume_check_off(tmp_path: Path) -> None:
    def mutate(d):
        d["baseline"] = {"table": "credit_test_set"}

    with pytest.raises(SpecError, match="set readiness.volume.enabled: false"):
        load_spec(_write(tmp_path, "table_baseline", mutate))

    def fixed(d):
        mutate(d)
        d["readiness"]["volume"] = {"enabled": False}

    assert load_spec(_write(tmp_path, "table_baseline", fixed)).baseline.table == "credit_test_set"


def test_an_invalid_cron_and_a_pii_segment_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="valid 5-field cron"):
        load_spec(_write(tmp_path, "bad_cron", lambda d: d.update(schedule="99 * * * *")))

    def pii_segment(d):
        d["predictions"]["features"].append({"name": "zip_code", "kind": "categorical", "pii": True})
        d["segments"] = ["region", "zip_code"]

    with pytest.raises(SpecError, match=r"segments \['zip_code'\] are pii"):
        load_spec(_write(tmp_path, "pii_segment", pii_segment))


def test_every_owner_must_be_reachable_and_a_page_must_have_a_route(tmp_path: Path) -> None:
    def slack_only(d):
        d["owners"]["technical_owner"]["slack_conn_id"] = "slack_credit"
        d["notifications"] = {"channels": ["slack"]}

    with pytest.raises(SpecError, match="owners.business_owner cannot be reached"):
        load_spec(_write(tmp_path, "slack_only", slack_only))

    def email_without_routes(d):
        d["notifications"] = {"channels": ["email"]}  # oncall_route credit-ml-oncall is set

    with pytest.raises(SpecError, match="pages would reach nobody"):
        load_spec(_write(tmp_path, "no_route", email_without_routes))


def test_compute_in_defaults_to_database_and_readiness_follows_it(tmp_path: Path) -> None:
    # The demo spec sets neither: window statistics and the GX suite both run in the database.
    spec = load_spec(DEMO_SPEC)
    assert spec.compute_in == "database" and spec.readiness.validate_in == "database"

    in_memory = load_spec(_write(tmp_path, "in_memory", lambda d: d.update(compute_in="memory")))
    assert in_memory.compute_in == "memory" and in_memory.readiness.validate_in == "memory"


@pytest.mark.parametrize(("compute_in", "validate_in"), [("database", "memory"), ("memory", "database")])
def test_an_explicit_validate_in_wins_over_compute_in(tmp_path: Path, compute_in: str, validate_in: str) -> None:
    def mutate(d):
        d["compute_in"] = compute_in
        d["readiness"]["validate_in"] = validate_in

    spec = load_spec(_write(tmp_path, "explicit", mutate))
    assert spec.compute_in == compute_in and spec.readiness.validate_in == validate_in


def test_a_bad_compute_in_is_named_with_its_choices(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, "warehouse", lambda d: d.update(compute_in="warehouse")))
    assert "compute_in: Input should be 'database' or 'memory'" in str(err.value)
    with pytest.raises(SpecError, match="compute_in: unknown field"):  # a monitor-level field only
        load_spec(_write(tmp_path, "nested", lambda d: d["readiness"].update(compute_in="memory")))
