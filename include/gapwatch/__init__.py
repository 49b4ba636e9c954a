"""gapwatch: production monitoring for ML models on Airflow 3."""
