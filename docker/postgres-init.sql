-- A second database on the same server for the gapwatch store (Airflow keeps its own).
CREATE DATABASE gapwatch OWNER airflow;
