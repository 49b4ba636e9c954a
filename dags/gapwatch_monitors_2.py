"""gapwatch monitor DAGs, shard 2: the specs in include/monitors/ whose file hashes here.

Monitors are spread over the dags/gapwatch_monitors_<i>.py files (gapwatch.airflow.dags.shard_of)
so each file parses a fraction of the specs and one slow parse cannot take every monitor. Thin on
purpose: reading the shard's YAML specs and declaring tasks is all that happens at parse time.
"""

from gapwatch.airflow.dags import monitor_dags_for_file

globals().update(monitor_dags_for_file(__file__))
