"""The one module of the package that knows Airflow: DAGs from specs, connections, SMTP.

Parse-time cost matters here (the DAG processor imports this on every parse): only the Task SDK,
YAML and pydantic are imported at module level; pandas, GX and scikit-learn load inside tasks.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gapwatch.spec import MonitorSpec, load_specs

if TYPE_CHECKING:
    from airflow.sdk import DAG

TASK_RETRIES = 2
TASK_TIMEOUT_ENV = "GAPWATCH_TASK_TIMEOUT"


def task_timeout() -> timedelta:
    """Every task's ``execution_timeout`` (``GAPWATCH_TASK_TIMEOUT`` seconds, default 3600).

    The last guard against a hang the database and channel timeouts do not catch (a server that
    answers, then stalls mid-result): Airflow kills the task, and its retries take over.
    """
    value = os.environ.get(TASK_TIMEOUT_ENV)
    try:
        seconds = float(value) if value else 3600.0
    except ValueError:
        raise ValueError(f"{TASK_TIMEOUT_ENV}={value!r}: expected a number of seconds") from None
    if seconds <= 0:
        raise ValueError(f"{TASK_TIMEOUT_ENV}={value!r}: must be more than 0 seconds")
    return timedelta(seconds=seconds)


def doc_md(spec: MonitorSpec) -> str:
    """What the platform team sees on the DAG page: owners, runbook, fallback, what is checked."""
    o = spec.owners
    metrics = ", ".join(
        m.name + (f" (floor {m.floor}" if m.floor is not None else " (")
        + (f", max drop {m.max_drop})" if m.max_drop is not None else ")")
        for m in spec.metrics
    ).replace(" ()", "")
    return f"""### {spec.name} v{spec.version}

{spec.description}

| Role | Name | Contact |
|---|---|---|
| Business owner | {o.business_owner.name} | {o.business_owner.email} |
| Technical owner | {o.technical_owner.name} | {o.technical_owner.email} {o.technical_owner.slack_channel or ""} |
| Data steward | {o.data_steward.name} | {o.data_steward.email} |
| On-call route | {o.technical_owner.oncall_route or "-"} | |

**Runbook:** {spec.runbook_url}

**Fallback:** {spec.fallback}

**Checks:** readiness suite `{spec.readiness.suite}`; metrics {metrics} on labels matured after
{spec.ground_truth.delay}; drift ({spec.drift.describe()}) against the baseline
{spec.baseline.describe()}; segments {", ".join(spec.segments) or "none"}.

**Policy:** incident after {spec.policy.breaches_before_incident} breach(es) in a row, auto-resolve
after {spec.policy.healthy_runs_to_resolve} healthy runs, maintenance ticket after
{spec.policy.windows_before_ticket} failing windows.
"""


def build_dag(spec: MonitorSpec) -> DAG:
    """The monitor DAG: extract -> readiness -> performance & drift -> decide -> publish."""
    import pendulum
    from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

    def _window() -> Any:
        from gapwatch.airflow import connections
        from gapwatch.window import Window

        connections.install()  # every task resolves source.conn_id through Airflow
        ctx = get_current_context()
        return Window.parse(ctx["data_interval_start"], ctx["data_interval_end"])

    @dag(
        dag_id=spec.dag_id,
        description=f"gapwatch monitor for {spec.name} v{spec.version}",
        doc_md=doc_md(spec),
        schedule=CronDataIntervalTimetable(spec.schedule, timezone="UTC"),
        start_date=pendulum.datetime(
            spec.start_date.year, spec.start_date.month, spec.start_date.day, tz="UTC"
        ),
        # Windows missed while the scheduler was down are evaluated afterwards, one at a time and
        # in order (incident streaks depend on it). `make airflow` creates DAGs paused, so the
        # demo's scheduler never starts on the windows since start_date by itself.
        catchup=True,
        max_active_runs=1,
        tags=["gapwatch", spec.task, *spec.tags],
        owner_links={spec.owners.technical_owner.name: f"mailto:{spec.owners.technical_owner.email}"},
        default_args={
            "owner": spec.owners.technical_owner.name,
            "retries": TASK_RETRIES,
            "retry_delay": timedelta(minutes=2),
            "execution_timeout": task_timeout(),
        },
    )
    def monitor() -> None:
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
        def decide(readiness: dict[str, Any], performance: dict[str, Any], drift: dict[str, Any]) -> list:
            from gapwatch import pipeline

            return pipeline.decide(spec, _window(), readiness, performance, drift)

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

        extracted = extract_window()
        readiness = check_readiness(extracted)
        performance = evaluate_performance(readiness)
        drift = evaluate_drift(readiness)
        findings = decide(readiness, performance, drift)
        publish(extracted, readiness, performance, drift, findings)

    return monitor()


def monitor_dags(directory: str | None = None) -> dict[str, DAG]:
    """One DAG per valid spec, by dag_id, sorted. Broken specs are reported by ``raise_spec_errors``."""
    specs = load_specs(directory)
    return {spec.dag_id: build_dag(spec) for spec in specs.specs}


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
