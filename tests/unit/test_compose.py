"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the services and volumes
the README promises, wired the way Airflow 3 needs them, and ``docker compose config`` where the
CLI exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CORE = {"postgres", "mailpit", "airflow-init", "airflow-apiserver", "airflow-scheduler",
        "airflow-dag-processor", "airflow-triggerer"}
CELERY = {"redis", "airflow-worker", "flower"}
AIRFLOW = {s for s in CORE | CELERY if s.startswith("airflow-")} | {"flower"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_volumes_are_the_ones_the_readme_promises(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == CORE | CELERY
    assert all(services[s].get("profiles") == ["celery"] for s in CELERY)
    assert not any(services[s].get("profiles") for s in CORE)  # `docker compose up` starts these
    assert set(compose["volumes"]) == {"postgres-db", "gapwatch-data", "airflow-auth"}
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Run it for real"):]
    for name in CORE | {"airflow-worker"}:
        assert f"`{name}`" in section, f"README 'Run it for real' does not mention {name}"
    assert "http://localhost:8080" in section and "http://localhost:8025" in section
    assert "docs/model-health.png" in readme


def test_airflow_services_share_the_image_store_and_login(compose: dict) -> None:
    services = compose["services"]
    for name in AIRFLOW:
        svc = services[name]
        env = svc["environment"]
        assert svc["image"] == "gapwatch-airflow:latest" and svc["build"] == "."
        assert env["GAPWATCH_DB_URL"].endswith("@postgres/gapwatch"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/auth/")
        volumes = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
        assert volumes["/opt/airflow/gapwatch"] == "gapwatch-data"  # run files shared by all tasks
        assert volumes["/opt/airflow/auth"] == "airflow-auth"  # one login for every api-server
        assert volumes["/opt/airflow/plugins"] == "./plugins"
        if name != "airflow-init":
            assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    # The store database exists because the postgres init script creates it.
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text()
    assert re.search(r"CREATE DATABASE gapwatch\b", init_sql)
    postgres_mounts = [v.split(":")[0] for v in services["postgres"]["volumes"]]
    assert "./docker/postgres-init.sql" in postgres_mounts
    init = services["airflow-init"]["command"][1]
    assert "airflow db migrate" in init and "store.migrate" in init and "gapwatch validate" in init
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]
    assert services["mailpit"]["ports"] == ["8025:8025"]
    smtp = services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SMTP_DEFAULT"]
    assert smtp.startswith("smtp://mailpit:1025")


def test_every_reference_resolves(compose: dict) -> None:
    services, volumes = compose["services"], set(compose["volumes"])
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        for mount in svc.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in volumes, f"{name} uses undeclared volume {source}"


def test_image_matches_the_tested_airflow() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(r"ARG AIRFLOW_VERSION=(\S+)", dockerfile).group(1)
    assert pinned == version("apache-airflow")
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python3.11" in dockerfile
    assert re.search(r"COPY .*plugins /opt/airflow/plugins", dockerfile)


def test_docker_compose_config_where_docker_exists() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode:
        pytest.skip("no docker compose CLI on this machine; the YAML checks above still ran")
    result = subprocess.run([docker, "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
