"""Window statistics computed where the data lives: the database path of the evaluation.

A window is reduced to counts ("cells") by SQL aggregates in the source database (SQLAlchemy Core,
portable to PostgreSQL and SQLite); the same counts are computed by numpy on a DataFrame on the
memory path (``compute_in: memory``), and every metric, error and drift statistic is derived from
them by the same pure code in :mod:`gapwatch.evaluation`. Only counts (and a bounded sample for the
multivariate drift model) cross into Python here, so worker memory does not grow with rows.

* :mod:`gapwatch.indb.selection`: which rows (a window, a matured cohort, the reference) as
  subqueries, and :func:`~gapwatch.indb.selection.fetch`, through which every query goes.
* :mod:`gapwatch.indb.performance`: performance and estimate cells.
* :mod:`gapwatch.indb.drift`: column summaries (overall and per segment), reference edges.
* :mod:`gapwatch.indb.sampling`: the multivariate drift model's bounded random sample.
"""
