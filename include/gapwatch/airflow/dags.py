"""The one module of the package that knows Airflow: DAGs from specs, connections, SMTP.

Parse-time cost matters here (the DAG processor imports this on every parse): only the Task SDK,
YAML and pydantic are imported at module level; pandas, GX and scikit-learn load inside tasks.
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapwatch import config
from gapwatch.spec import MonitorSpec, load_specs
from gapwatch.window import Window

if TYPE_CHECKING:
    from airflow.sdk import DAG

TASK_RETRIES = 2


def task_timeout() -> timedelta:
    """Every task's ``execution_timeout`` (``GAPWATCH_TASK_TIMEOUT`` seconds, default 3600).

    The last guard against a hang the database and channel timeouts do not catch (a server that
    answers, then stalls mid-result): Airflow kills the task, and its retries take over.
    """
    from gapwatch import config

    return timedelta(seconds=config.settings().task_timeout)


def doc_md(spec: MonitorSpec) -> str:
    """What the platform team sees on the DAG page: owners, runbook, fallback, what is checked."""
    o = spec.owners
    metrics = ", ".join(
        m.name + (f" (floor {m.floor}" if m.floor is not None else " (")
        + (f", max drop {m.max_drop})" if m.max_drop is not None else ")")
        for m in spec.metrics
    ).replace(" ()", "")
    health = f"{config.settings().airflow_url}/gapwatch/health/models/{spec.name}"
    return f"""### {spec.name} v{spec.version}

{spec.description}

**[Model Health: {spec.name}]({health})** (metric trends with the label-free estimate, drift,
readiness, incidents you can acknowledge here)

| Role | Name | Contact |
|---|---|---|
| Business owner | {o.business_owner.name} | {o.business_owner.email} |
| Technical owner | {o.technical_owner.name} | {o.technical_owner.email} {o.technical_owner.slack_channel or ""} |
| Data steward | {o.data_steward.name} | {o.data_steward.email} |
| On-call route | {o.technical_owner.oncall_route or "-"} | |

**Runbook:** {spec.runbook_url}

**Fallback:** {spec.fallback}

**Checks:** readiness suite `{spec.readiness.suite}`; metrics {metrics} on labels matured after
{spec.ground_truth.delay.describe()}; drift ({spec.drift.describe()}) against the baseline
{spec.baseline.describe()}; segments {", ".join(spec.segments) or "none"}.

{_adoption_doc(spec)}**Policy:** incident after {spec.policy.breaches_before_incident} breach(es) in a row, auto-resolve
after {spec.policy.healthy_runs_to_resolve} healthy runs, maintenance ticket after
{spec.policy.windows_before_ticket} failing windows.
"""


def _adoption_doc(spec: MonitorSpec) -> str:
    from gapwatch.incidents.adoption_text import duration  # words only: cheap at parse time

    a = spec.adoption
    if a is None:
        return ""
    return (f"**Adoption:** decisions in `{a.table}` within {duration(a.decision_sla.total_seconds())} "
            f"(coverage, follow rate, time "
            f"to action{', outcome ' + a.value if a.value else ''}), owned by the business owner.\n\n")


def build_dag(spec: MonitorSpec) -> DAG:
    """The monitor DAG: extract -> readiness -> performance & drift -> decide -> publish.

    Long: TaskFlow tasks are defined inside the DAG function, one small delegating body each,
    and read best next to the wiring at the end; the pipeline does the work.
    """
    from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

    def _window() -> Window:
        from gapwatch.airflow import connections

        connections.install()  # every task resolves source.conn_id through Airflow
        ctx = get_current_context()
        start, end = ctx["data_interval_start"], ctx["data_interval_end"]
        if start is None or end is None:  # a monitor DAG always has a cron data interval
            raise RuntimeError(f"{spec.dag_id}: this run has no data interval")
        return Window.parse(start, end)

    @dag(schedule=CronDataIntervalTimetable(spec.schedule, timezone="UTC"), **_monitor_dag_arguments(spec))
    def monitor() -> None:
        """The monitor's tasks, one per stage, and their wiring.

        Long: each task is a few lines that must close over ``spec``; splitting them apart hides the flow.
        """

        @task
        def extract_window() -> dict[str, Any]:
            from gapwatch import pipeline

            return pipeline.extract_window(spec, _window())

        @task
        def check_readiness(_extract: dict[str, Any]) -> dict[str, Any]:
            from gapwatch import pipeline

            return pipeline.check_readiness(spec, _window())

        @task
        def evaluate_performance(readiness: dict[str, Any]) -> dict[str, Any]:
            from gapwatch import pipeline

            return pipeline.evaluate_performance(spec, _window(), readiness["ready"])

        @task
        def evaluate_drift(readiness: dict[str, Any]) -> dict[str, Any]:
            from gapwatch import pipeline

            return pipeline.evaluate_drift(spec, _window(), readiness["ready"])

        @task
        def evaluate_adoption() -> dict[str, Any]:
            from gapwatch import adoption

            return adoption.evaluate_adoption(spec, _window())

        @task
        def decide(
            readiness: dict[str, Any], performance: dict[str, Any], drift: dict[str, Any],
            adoption: dict[str, Any] | None = None,
        ) -> list:
            from gapwatch import policy

            return policy.decide(spec, readiness, performance, drift, adoption)

        @task
        def publish(
            extract: dict[str, Any],
            readiness: dict[str, Any],
            performance: dict[str, Any],
            drift: dict[str, Any],
            findings: list[dict[str, Any]],
        ) -> dict[str, Any]:
            from gapwatch import pipeline
            from gapwatch.airflow.channels import default_senders

            run_id = get_current_context()["run_id"]
            return pipeline.publish(
                spec, _window(), extract, readiness, performance, drift, findings, airflow_run_id=run_id,
                senders=default_senders(),
            )

        # At parse time a task call returns an XComArg that stands for the value; typed as Any
        # because the task functions are typed for the values they receive at run time.
        extracted: Any = extract_window()
        readiness: Any = check_readiness(extracted)
        performance: Any = evaluate_performance(readiness)
        drift: Any = evaluate_drift(readiness)
        # Only a monitor with an adoption section gets the task; the others keep their shape.
        adoption: Any = evaluate_adoption() if spec.adoption is not None else None
        if adoption is not None:
            # After the extract, which starts the run: the stages then share its one resolved source.
            extracted >> adoption
        findings: Any = decide(readiness, performance, drift, adoption)
        publish(extracted, readiness, performance, drift, findings)

    return monitor()


def _monitor_dag_arguments(spec: MonitorSpec) -> dict[str, Any]:
    """The ``@dag`` arguments of a monitor but its schedule: ids, docs, owners and retries."""
    import pendulum

    return {
        "dag_id": spec.dag_id,
        "description": f"gapwatch monitor for {spec.name} v{spec.version}",
        "doc_md": doc_md(spec),
        "start_date": pendulum.datetime(
            spec.start_date.year, spec.start_date.month, spec.start_date.day, tz="UTC"
        ),
        # Windows missed while the scheduler was down are evaluated afterwards, one at a time and
        # in order (incident streaks depend on it). `make airflow` creates DAGs paused, so the
        # demo's scheduler never starts on the windows since start_date by itself.
        "catchup": True,
        "max_active_runs": 1,
        "tags": ["gapwatch", spec.task, *spec.tags],
        "owner_links": {spec.owners.technical_owner.name: f"mailto:{spec.owners.technical_owner.email}"},
        "default_args": {
            "owner": spec.owners.technical_owner.name,
            "retries": TASK_RETRIES,
            "retry_delay": timedelta(minutes=2),
            "execution_timeout": task_timeout(),
        },
    }


def monitor_dags(directory: str | None = None, shard: tuple[int, int] | None = None) -> dict[str, DAG]:
    """One DAG per valid spec, by dag_id, sorted. Broken specs are reported by ``raise_spec_errors``.

    ``shard`` ``(index, count)`` keeps only the specs whose file falls in that shard (see
    :func:`shard_of`), so the monitors spread over several DAG files and one slow parse (or
    Airflow's import timeout) takes one shard, never every monitor.
    """
    only = None if shard is None else (lambda path: shard_of(path, shard[1]) == shard[0])
    specs = load_specs(directory, only)
    return {spec.dag_id: build_dag(spec) for spec in specs.specs}


MONITOR_SHARD_PREFIX = "gapwatch_monitors_"


def shard_of(path: Path, count: int) -> int:
    """The shard of a spec file: a stable hash of its name (x.yml and x.yaml share one)."""
    return zlib.crc32(path.stem.encode()) % count


def monitor_dags_for_file(dag_file: str) -> dict[str, DAG]:
    """The monitor DAGs of one shard file ``dags/gapwatch_monitors_<i>.py``.

    The shard count is the number of such files beside it, so adding a file rebalances.
    """
    here = Path(dag_file)
    files = sorted(here.parent.glob(f"{MONITOR_SHARD_PREFIX}*.py"))
    index = int(here.stem.removeprefix(MONITOR_SHARD_PREFIX))
    return monitor_dags(shard=(index, len(files)))


class MonitorSpecError(Exception):
    """Raised at parse time by dags/gapwatch_spec_errors.py so Airflow lists it as an import error."""


def raise_spec_errors(directory: str | None = None) -> None:
    errors = load_specs(directory).errors
    if errors:
        lines = [f"{len(errors)} monitor spec(s) cannot be loaded; the other monitors run:"]
        lines += [f"  {error}" for error in errors]
        raise MonitorSpecError("\n".join(lines))


OPERATIONS_DAG_ID = "gapwatch_operations"
OPERATIONS_SCHEDULE = "*/5 * * * *"
OPERATIONS_DOC_MD = """### gapwatch operations

Every five minutes:

1. **escalate_overdue**: incidents still unacknowledged past their acknowledgement SLA go to the
   next route in their spec's `notifications.escalation` (an audit event each).
2. **queue_weekly_digests**: once a week (Monday 08:00 UTC by default) each business owner's
   digest of their models, health, incidents and tickets, in plain language.
3. **deliver_pending**: every due outbox message of every monitor, with retries and backoff; a
   message that exhausts its attempts is dead-lettered and alerts the platform route
   (`GAPWATCH_PLATFORM_ROUTE`).
4. **enforce_retention**: deletes run extracts (they hold PII), Data Docs pages and delivered
   messages past their retention (`GAPWATCH_RUNS_RETENTION`, `GAPWATCH_DATA_DOCS_RETENTION`,
   `GAPWATCH_OUTBOX_RETENTION`, in days).

Channel secrets live in Airflow connections; see the README section "Notifications".
"""


def build_operations_dag() -> DAG:
    """Housekeeping every few minutes: escalate overdue incidents, queue due digests, deliver,
    enforce retention."""
    import pendulum
    from airflow.sdk import dag, task

    @dag(
        dag_id=OPERATIONS_DAG_ID,
        description="gapwatch housekeeping: escalation, weekly digests, outbox delivery, retention",
        doc_md=OPERATIONS_DOC_MD,
        schedule=OPERATIONS_SCHEDULE,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["gapwatch", "operations"],
        default_args={"owner": "gapwatch-platform", "retries": TASK_RETRIES, "retry_delay": timedelta(minutes=1),
                      "execution_timeout": task_timeout()},
    )
    def operations() -> None:
        @task
        def escalate_overdue() -> list[dict[str, Any]]:
            from gapwatch import operations as ops

            return ops.escalate()

        @task
        def queue_weekly_digests() -> int:
            from gapwatch import operations as ops

            return ops.queue_digests()

        @task
        def deliver_pending(_escalated: Any, _digests: Any) -> dict[str, int]:
            from gapwatch import operations as ops
            from gapwatch.airflow.channels import default_senders

            return ops.deliver(default_senders())

        @task
        def enforce_retention() -> dict[str, int]:
            from gapwatch import retention

            return retention.enforce_retention()

        deliver_pending(escalate_overdue(), queue_weekly_digests())
        enforce_retention()  # on its own: a failing delivery must not keep PII past its time

    return operations()
