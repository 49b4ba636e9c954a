# The gapwatch image: Airflow 3 with the project installed (used by docker-compose.yml).
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root pyproject.toml README.md /opt/gapwatch/
COPY --chown=airflow:root include /opt/gapwatch/include
RUN pip install --no-cache-dir -e /opt/gapwatch
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
ENV GAPWATCH_MONITORS_DIR=/opt/gapwatch/include/monitors \
    GAPWATCH_EXPECTATIONS_DIR=/opt/gapwatch/include/expectations
