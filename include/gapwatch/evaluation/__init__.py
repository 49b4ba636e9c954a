"""Finding degradation: metrics with their sampling error, the label-free estimate, drift, and
the assessment of a window against its baseline. Pure calculations; no store, no Airflow."""
