"""gapwatch housekeeping DAG: escalate overdue incidents, send weekly digests, deliver the outbox.

Thin on purpose: the DAG is declared in gapwatch.airflow.dags; the work happens in tasks.
"""

from gapwatch.airflow.dags import build_operations_dag

dag = build_operations_dag()

if __name__ == "__main__":
    dag.test()
