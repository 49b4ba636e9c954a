# The gapwatch image: Airflow 3 with the project installed (used by docker-compose.yml).
# Keep the tag on the Airflow version the project is tested with (tests/unit/test_compose.py).
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION
COPY --chown=airflow:root pyproject.toml README.md /opt/gapwatch/
COPY --chown=airflow:root include /opt/gapwatch/include
# Install with Airflow's constraints file (the versions Airflow is released and tested with) and
# pin Airflow itself, so installing gapwatch never up- or downgrades the image's Airflow.
ARG PYTHON_VERSION=3.11
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -e /opt/gapwatch \
      --constraint "https://raw.githubusercontent.com/apache/airflow/constraints-${AIRFLOW_VERSION}/constraints-${PYTHON_VERSION}.txt"
COPY --chown=airflow:root dags /opt/airflow/dags
# The plugin brings its own templates and the vendored Vega builds (no CDN at run time).
COPY --chown=airflow:root plugins /opt/airflow/plugins
ENV GAPWATCH_MONITORS_DIR=/opt/gapwatch/include/monitors \
    GAPWATCH_EXPECTATIONS_DIR=/opt/gapwatch/include/expectations
