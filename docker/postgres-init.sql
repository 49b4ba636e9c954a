-- Two more databases on the same server (Airflow keeps its own): the gapwatch store, and the
-- demo "production" database that airflow-init seeds for the shipped monitors.
CREATE DATABASE gapwatch OWNER airflow;
CREATE DATABASE demo OWNER airflow;
