"""The scoreboard's verdicts do not depend on where the statistics are computed: every scenario
gives the same alarms, estimates and realized values with ``compute_in: database`` on
PostgreSQL as in memory (the cells are the same, so the derived numbers are too)."""

from __future__ import annotations

import pytest

from gapwatch.demo import scenarios
from gapwatch.demo.scenarios_db import database_evaluation

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _verdicts(results):
    return [(r.t, r.performance_alarm, r.estimate_alarm, r.drift_warning) for r in results]


@pytest.mark.parametrize("scenario", scenarios.scenarios(), ids=lambda s: s.name)
def test_the_database_path_gives_the_memory_paths_verdicts(scenario, pg_url):
    memory, _ = scenarios.run_scenario(scenario)
    database, _ = scenarios.run_scenario(scenario, database_evaluation(pg_url))
    assert _verdicts(database) == _verdicts(memory)
    for m, d in zip(memory, database, strict=True):
        # A run with no matured cohort yet has no value on either path.
        assert (m.realized is None) == (d.realized is None)
        if m.realized is not None:
            assert d.realized == pytest.approx(m.realized, abs=1e-9)
        if m.estimated is not None:
            assert d.estimated == pytest.approx(m.estimated, abs=1e-9)
