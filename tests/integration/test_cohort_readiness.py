"""Each cohort is judged on its own readiness (issue 10), over the demo data: the feed-break
window's own performance is judged on its (healthy) cohort; the next window judges the broken
window's predictions, stores their metrics, and a breach there opens a performance incident
linked to the data incident, routed to the data steward and the technical owner."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gapwatch import store
from gapwatch.catalog import Kind, Role, RunStatus, Verdict
from gapwatch.demo.seed import window_bounds
from gapwatch.demo.timeline import FEED_BREAK_WINDOW
from gapwatch.pipeline import run_window
from gapwatch.spec import load_specs
from gapwatch.window import Window

pytestmark = pytest.mark.integration


def _rows(table: sa.Table, *where) -> list[dict]:
    with store.engine().connect() as conn:
        return store.rows(conn, sa.select(table).where(*where))


def test_the_cohort_of_a_broken_window_is_judged_and_a_breach_linked_to_the_data(demo_env: Path) -> None:
    spec = load_specs().by_name("credit_default")
    broken, after = Window(*window_bounds(FEED_BREAK_WINDOW)), Window(*window_bounds(FEED_BREAK_WINDOW + 1))

    # The feed break: this window is not ready, but its cohort (the week before) is healthy data,
    # so its performance is judged, not "inconclusive".
    assert run_window(spec, broken)["status"] == RunStatus.NOT_READY
    (run,) = _rows(store.runs, store.runs.c.window_start == broken.start)
    assert run["performance"] == Verdict.OK and run["main_value"] is not None
    (data_incident,) = _rows(store.incidents, store.incidents.c.kind == Kind.DATA)

    # The next window judges the broken window's predictions. With the demo's limits they pass:
    # computed and stored, but inconclusive (an ok value on untrusted data proves nothing).
    published = run_window(spec, after)
    (run,) = _rows(store.runs, store.runs.c.window_start == after.start)
    assert run["performance"] == Verdict.INCONCLUSIVE and run["main_value"] is not None
    assert _rows(store.metric_values, store.metric_values.c.window_start == after.start)
    assert published["status"] == RunStatus.HEALTHY  # this window's own data is fine
    assert not _rows(store.incidents, store.incidents.c.kind == Kind.PERFORMANCE)

    # A stricter limit on the same cohort: now it breaches, and the breach is reported, attributed.
    strict = spec.model_copy(update={"metrics": [spec.metrics[0].model_copy(update={"floor": 0.95}),
                                                 *spec.metrics[1:]]})
    assert run_window(strict, after)["status"] == RunStatus.DEGRADED
    (linked,) = _rows(store.incidents, store.incidents.c.check == "metric:roc_auc")
    assert linked["title"] == (f"credit_default: roc_auc fell while credit_default_inputs failed: "
                               f"likely cause data, see incident #{data_incident['id']}")
    assert linked["evidence"]["likely_cause"] == "data"
    assert linked["evidence"]["data_incident"] == data_incident["id"]
    roles = {m["recipient_role"] for m in _rows(store.outbox, store.outbox.c.incident_id == linked["id"])}
    assert {Role.TECHNICAL_OWNER, Role.DATA_STEWARD} <= roles
