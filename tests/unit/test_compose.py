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
CLI = {"gapwatch"}
AIRFLOW = {s for s in CORE | CELERY if s.startswith("airflow-")} | {"flower"} | CLI
ONE_SHOT = {"airflow-init"} | CLI


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_volumes_are_the_ones_the_readme_promises(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == CORE | CELERY | CLI
    assert all(services[s].get("profiles") == ["celery"] for s in CELERY)
    assert services["gapwatch"]["profiles"] == ["cli"]
    assert not any(services[s].get("profiles") for s in CORE)  # `docker compose up` starts these
    assert set(compose["volumes"]) == {"postgres-db", "gapwatch-data", "airflow-auth", "airflow-logs"}
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
        assert volumes["/opt/airflow/logs"] == "airflow-logs"  # task logs readable from the UI
        if name != "airflow-init":
            assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    # The store database exists because the postgres init script creates it.
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text()
    assert re.search(r"CREATE DATABASE gapwatch\b", init_sql)
    postgres_mounts = [v.split(":")[0] for v in services["postgres"]["volumes"]]
    assert "./docker/postgres-init.sql" in postgres_mounts
    init = services["airflow-init"]["command"][1]
    assert "airflow db migrate" in init and "store.migrate" in init and "gapwatch validate" in init
    assert services["airflow-apiserver"]["ports"] == ["${GAPWATCH_BIND:-127.0.0.1}:8080:8080"]
    assert services["mailpit"]["ports"] == ["${GAPWATCH_BIND:-127.0.0.1}:8025:8025"]
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


def _secret_refs(text: str) -> dict[str, str]:
    """``${NAME...}`` references in the compose file: name -> the operator after the name."""
    # ``$${NAME}`` is an escaped dollar: the container's shell expands it, not compose.
    return {m.group(1): m.group(2) for m in re.finditer(r"(?<!\$)\$\{([A-Z_]+)(:[?-]|\})", text)}


def test_secrets_come_from_the_environment_with_no_fallback() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text
    refs = _secret_refs(text)
    for name in ("POSTGRES_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_SECRET_KEY",
                 "AIRFLOW_FERNET_KEY"):
        assert refs.get(name) == ":?", f"{name} must be required (${{{name}:?...}}), found {refs.get(name)}"
        assert f"{name}=" in (ROOT / "docker" / "env.example").read_text()
    # No password is written into the file itself.
    assert not re.search(r"airflow:airflow@", text)


def test_ports_bind_to_loopback_and_images_are_pinned(compose: dict) -> None:
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert port.startswith("${GAPWATCH_BIND:-127.0.0.1}:"), f"{name} publishes {port} on every interface"
        image = svc.get("image", "")
        if "build" not in svc:
            assert re.search(r":\S*\d+\.\d+", image), f"{name}: image {image!r} is not pinned to a release"


def test_every_long_running_service_has_a_health_check(compose: dict) -> None:
    for name, svc in compose["services"].items():
        if name not in ONE_SHOT:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_the_demo_runs_end_to_end_in_compose(compose: dict) -> None:
    env = compose["x-airflow-common"]["environment"]
    assert env["GAPWATCH_DEMO_SOURCE_URL"].endswith("@postgres/demo")
    assert re.search(r"CREATE DATABASE demo\b", (ROOT / "docker" / "postgres-init.sql").read_text())
    init = compose["services"]["airflow-init"]["command"][1]
    assert 'gapwatch demo seed --url "$${GAPWATCH_DEMO_SOURCE_URL}"' in init
    assert init.index("demo seed") < init.index("gapwatch validate")
    assert env["GAPWATCH_AIRFLOW_URL"].startswith("${GAPWATCH_AIRFLOW_URL:-")
    assert "--constraint" in (ROOT / "Dockerfile").read_text()


def _compose_env(compose: dict) -> dict[str, str]:
    """The x-airflow-common environment with ``${VAR...}`` interpolated from test values."""
    values = {"POSTGRES_PASSWORD": "pw", "AIRFLOW_JWT_SECRET": "j", "AIRFLOW_SECRET_KEY": "k",
              "AIRFLOW_FERNET_KEY": "f", "AIRFLOW_ADMIN_PASSWORD": "a"}

    def interpolate(value: str) -> str:
        return re.sub(r"\$\{([A-Z_]+)(?::[?-]([^}]*))?\}",
                      lambda m: values.get(m.group(1), m.group(2) or ""), str(value))

    return {k: interpolate(v) for k, v in compose["x-airflow-common"]["environment"].items()}


def test_each_service_command_line_runs_under_its_entrypoint(compose: dict, tmp_path: Path) -> None:
    """Docker runs ``entrypoint + command``; the Airflow image's entrypoint runs ``airflow <command>``
    when no entrypoint is set. Run those argv here (with --help where the real one would serve)."""
    import os

    venv_bin = Path(shutil.which("gapwatch") or ROOT / ".venv" / "bin" / "gapwatch").parent
    services = compose["services"]
    env = {**os.environ, **{k: v for k, v in _compose_env(compose).items() if k.startswith("GAPWATCH_")},
           "GAPWATCH_HOME": str(tmp_path), "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    env.pop("GAPWATCH_DB_URL", None)  # no postgres service here: the embedded store stands in
    # The gapwatch CLI service: `docker compose run --rm gapwatch validate` (README) works.
    cli = services["gapwatch"]
    argv = [*cli["entrypoint"], "validate"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 valid, 0 invalid" in result.stdout
    # airflow-init's script is valid bash.
    init = services["airflow-init"]
    assert init["entrypoint"] == "/bin/bash"
    script = init["command"][1].replace("$$", "$")
    assert subprocess.run(["bash", "-n", "-c", script], capture_output=True).returncode == 0
    # Core Airflow services: `airflow <command>` is a real subcommand of this Airflow.
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        command = services[name]["command"].split()
        done = subprocess.run(["airflow", *command, "--help"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{name}: airflow {' '.join(command)}: {done.stderr[-500:]}"
