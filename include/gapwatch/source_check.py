"""What the source really has, checked before the extract names its columns.

A dropped or renamed feature column, a dropped label table, text in a numeric column or labels
``{0, 1, 2}`` for a binary model used to crash the extract (``no such column``,
``ArrowTypeError``) or the metrics (``multi_class must be in ('ovo','ovr')``) before readiness
ran: no run row, nobody told. Here each becomes a problem naming the column; the extract keeps
what it can read, and readiness turns the problems into one critical ``readiness:schema``
finding, so the window is not ready and evaluation is inconclusive, never a crash.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from gapwatch.catalog import BINARY_LABELS
from gapwatch.sources import split_table

if TYPE_CHECKING:
    import pandas as pd

    from gapwatch.spec import MonitorSpec
    from gapwatch.window import Window
    from gapwatch.window_run import WindowRun



def table_problems(spec: MonitorSpec, engine: sa.Engine) -> tuple[list[str], set[str]]:
    """Missing tables and columns of the predictions and ground-truth tables.

    Returns:
        The problems (each naming the table and column, and the spec field that names it) and
        which reads are impossible: ``"window"`` (no predictions table or timestamp column),
        ``"cohort"`` (any named column or the label table missing).
    """
    p, g = spec.predictions, spec.ground_truth
    inspector = sa.inspect(engine)
    named = {p.id: "predictions.id", p.timestamp: "predictions.timestamp", p.prediction: "predictions.prediction"}
    if p.score:
        named[p.score] = "predictions.score"
    named.update({f.name: "predictions.features" for f in p.features})
    problems: list[str] = []
    blocked: set[str] = set()
    for table, columns in (
        (p.table, named),
        (g.table, {g.id: "ground_truth.id", g.label: "ground_truth.label", g.arrived_at: "ground_truth.arrived_at"}),
    ):
        schema, name = split_table(table)
        if not inspector.has_table(name, schema=schema):
            problems.append(f"table {table}: does not exist in the source (named by the spec)")
            blocked |= {"window", "cohort"} if table == p.table else {"cohort"}
            continue
        have = {c["name"] for c in inspector.get_columns(name, schema=schema)}
        for column, field in columns.items():
            if column not in have:
                problems.append(f"column {column}: missing from table {table} (spec field {field}); "
                                f"the table has {sorted(have)}")
                blocked.add("cohort")
                if column == p.timestamp and table == p.table:
                    blocked.add("window")
    return problems, blocked


def value_problems(spec: MonitorSpec, frame: pd.DataFrame, *, labels: bool = False) -> list[str]:
    """Values the columns' types cannot hold; numeric columns are made numeric in place.

    A numeric feature or the score holding text that is no number becomes null there (and a
    problem naming the column), so the extract can be written. With ``labels``, the cohort's
    labels (and predictions) of a binary model must be 0 or 1.
    """
    import pandas as pd

    p = spec.predictions
    numeric = [f.name for f in p.features if f.kind == "numeric"] + ([p.score] if p.score else [])
    problems = []
    for column in numeric:
        if column not in frame.columns or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = int((values.isna() & frame[column].notna()).sum())
        if bad:  # text that reads as numbers is left to readiness's own retyped-column check
            problems.append(f"column {column}: {bad} value(s) are not numbers (declared numeric)")
            frame[column] = values.astype(float)
    if spec.task == "binary_classification":
        checked = [(p.prediction, "prediction")] + ([("label", spec.ground_truth.label)] if labels else [])
        for column, name in checked:
            if column in frame.columns:
                outside = _outside_binary(frame[column])
                if outside:
                    problems.append(f"column {name}: values {outside} outside {{0, 1}} of a binary model")
    return problems


def _outside_binary(values: pd.Series) -> list[Any]:
    found = []
    for value in values.dropna().unique()[:1000]:
        try:
            ok = float(value) in BINARY_LABELS
        except (TypeError, ValueError):
            ok = False
        if not ok:
            found.append(value.item() if hasattr(value, "item") else value)
    return sorted(found, key=str)[:5]


def writable(frame: pd.DataFrame) -> list[str]:
    """Make columns of mixed types writable to Parquet (as text); a problem per column changed."""
    import pandas as pd

    problems = []
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        kinds = {_kind(v) for v in frame[column].dropna()}
        if len(kinds) > 1:
            frame[column] = frame[column].map(lambda v: v if pd.isna(v) else str(v))
            problems.append(f"column {column}: mixed value types {sorted(kinds)}")
    return problems


def _kind(value: Any) -> str:
    # ints and floats share a Parquet column; text next to numbers or dates does not.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return type(value).__name__


# ---------------------------------------------------------------- the same checks in the database


def _declared_numeric(spec: MonitorSpec, engine: sa.Engine) -> set[str]:
    """Columns of the predictions table the database types as numbers (by the Python type their
    values come back as: PostgreSQL's DOUBLE PRECISION is no ``sa.Numeric``)."""
    schema, name = split_table(spec.predictions.table)
    numeric = set()
    for column in sa.inspect(engine).get_columns(name, schema=schema):
        try:
            if column["type"].python_type in (int, float, Decimal):
                numeric.add(column["name"])
        except NotImplementedError:  # a type SQLAlchemy does not know: not known to be numeric
            pass
    return numeric


def _text_in_numeric(run: WindowRun, selection: Any, column: str) -> int:
    """Values of a column the database does not type as numbers that are no numbers: streamed in
    chunks (the column alone, never the window), so memory stays flat on a broken feed too."""
    import pandas as pd

    from gapwatch.indb.selection import FETCHED

    q = selection.subquery
    bad = seen = 0
    with run.source.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=50_000).execute(
            sa.select(q.c[column]).where(q.c[column].is_not(None)))
        for chunk in result.partitions():
            values = pd.Series([row[0] for row in chunk], dtype=object)
            bad += int(pd.to_numeric(values, errors="coerce").isna().sum())
            seen += len(chunk)
    FETCHED.add(seen)
    return bad


def _outside_binary_in_database(selection: Any, column: str) -> list[Any]:
    from gapwatch.indb.selection import fetch

    c = selection.subquery.c[column]
    rows = fetch(selection.source, sa.select(c).where(c.is_not(None), c.not_in(sorted(BINARY_LABELS)))
                 .distinct().limit(5))
    return sorted((r[0] for r in rows), key=str)


def database_problems(
    spec: MonitorSpec, run: WindowRun, window: Window, cohort_window: Window
) -> tuple[list[str], set[str], dict[str, int]]:
    """``read_checked``'s problems for the database path, found by queries instead of reads:
    missing tables and columns, text in a numeric column (only where the database does not
    type the column as numbers), labels and predictions outside {0, 1} of a binary model.

    Also the extract's counts, from the same queries (one aggregate over the window, one over
    the cohort): ``rows``, ``cohort_rows``, ``labeled``, ``pending`` (0 for a read the source's
    shape blocks). Offending values are looked up only when the counts found some.
    """
    from gapwatch.indb import performance, selection

    counts = {"rows": 0, "cohort_rows": 0, "labeled": 0, "pending": 0}
    problems, blocked = table_problems(spec, run.source.engine)
    if problems:  # a column the spec names is missing: the queries below would name it
        if "window" not in blocked:
            counts["rows"] = _count_window(spec, run, window)
        return problems, blocked, counts
    p = spec.predictions
    typed = _declared_numeric(spec, run.source.engine)
    win = selection.window(spec, run.source, window.start, window.end)
    numeric = [f.name for f in p.features if f.kind == "numeric"] + ([p.score] if p.score else [])
    for column in numeric:
        if column not in typed:
            bad = _text_in_numeric(run, win, column)
            if bad:
                problems.append(f"column {column}: {bad} value(s) are not numbers (declared numeric)")
    binary = spec.task == "binary_classification"
    cohort = selection.cohort(spec, run.source, cohort_window.start, cohort_window.end, as_of=window.end)
    screens = (
        (win, p.prediction if binary and p.prediction in typed else None, None, p.prediction, ""),
        (cohort, "label" if binary else None, "label", spec.ground_truth.label, "labeled cohort: "),
    )
    found = []
    for sel, screened, label, name, prefix in screens:
        screen = performance.screen(sel, label=label, binary=screened)
        found.append(screen)
        if screened is not None and screen["outside"]:
            outside = _outside_binary_in_database(sel, screened)
            problems.append(f"{prefix}column {name}: values {outside} outside {{0, 1}} of a binary model")
    counts["rows"] = found[0]["rows"]
    counts["cohort_rows"], counts["labeled"] = found[1]["rows"], found[1]["nonnull"]
    counts["pending"] = counts["cohort_rows"] - counts["labeled"]
    return problems, blocked, counts


def _count_window(spec: MonitorSpec, run: WindowRun, window: Window) -> int:
    """The window's rows, naming no column but the timestamp (the others may be missing)."""
    from gapwatch import sources
    from gapwatch.indb.selection import fetch

    table = sources.predictions_table(spec)
    query = sa.select(sa.func.count()).select_from(table).where(
        sources.in_window(table, spec, window.start, window.end))
    return int(fetch(run.source, query)[0][0])


# ---------------------------------------------------------------- the extract and readiness hooks

PROBLEMS_FILE = "source_problems.json"


def read_checked(
    spec: MonitorSpec, run: WindowRun, window: Window, cohort_window: Window
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The window's rows and the matured cohort as far as the source allows, and every problem.

    Written for the extract (``pipeline.extract_window``); a read the source's shape makes
    impossible gives an empty frame with the expected columns instead of an exception.
    """
    import pandas as pd

    from gapwatch import sources

    problems, blocked = table_problems(spec, run.source.engine)
    p = spec.predictions
    expected = [p.id, p.timestamp, p.prediction, *([p.score] if p.score else []), *(f.name for f in p.features)]
    if "window" in blocked:
        frame = pd.DataFrame(columns=expected)
    else:
        frame = sources.read_window(spec, window.start, window.end, source=run.source)
    if "cohort" in blocked:
        cohort = pd.DataFrame(columns=[*expected, "label"])
    else:
        cohort = sources.read_matured(spec, cohort_window.start, cohort_window.end, as_of=window.end, source=run.source)
    problems += value_problems(spec, frame) + writable(frame)
    cohort_problems = value_problems(spec, cohort, labels=True) + writable(cohort)
    problems += [f"labeled cohort: {problem}" for problem in cohort_problems]
    return frame, cohort, problems


def save_problems(run: WindowRun, problems: list[str]) -> None:
    """Keep the extract's problems for readiness (always written: a rerun clears old ones)."""
    (run.folder / PROBLEMS_FILE).write_text(json.dumps(problems))


def load_problems(run: WindowRun) -> list[str]:
    path = run.folder / PROBLEMS_FILE
    return list(json.loads(path.read_text())) if path.is_file() else []


def readiness_summary(spec: MonitorSpec, problems: list[str], rows: int) -> dict[str, Any]:
    """The readiness summary of a window whose source does not have the spec's shape.

    One critical ``schema`` check listing every problem (``policy.readiness_findings`` makes it
    the ``readiness:schema`` data finding); the suite is not run on data it cannot describe.
    """
    from gapwatch.catalog import Severity

    return {
        "suite": spec.readiness.suite,
        "ready": False,
        "critical_failures": problems,
        "warnings": [],
        "rows": rows,
        "validate_in": spec.readiness.validate_in,
        "data_docs_url": None,
        "checks": [{"check": "schema", "severity": Severity.CRITICAL.value, "expectations": len(problems),
                    "failing": problems}],
    }
