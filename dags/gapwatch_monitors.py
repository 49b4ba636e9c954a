"""gapwatch monitor DAGs: one Airflow DAG per monitor spec in include/monitors/.

Thin on purpose: reading the YAML specs and declaring tasks is all that happens at parse time.
"""

from gapwatch.airflow.dags import monitor_dags

globals().update(monitor_dags())
