"""Model Health: the gapwatch fleet inside the Airflow UI (an Airflow 3 plugin).

A FastAPI app mounted by the api-server at ``/gapwatch/health`` (pages, a JSON API and the locally
served Vega scripts) and two external views: *Model Health* in the nav and a *Model Health* tab on
each DAG page. What is shown comes from ``gapwatch.health.model`` (store reading) and
``gapwatch.health.charts`` (altair); this file only wires them to Airflow.

Airflow does not authenticate plugin apps (a Starlette mount inherits none of the core API's
dependencies), so every route here depends on Airflow's own ``get_user`` (the JWT from the
``Authorization`` header or the UI's ``_token`` cookie) and checks DAG-run read access per monitor
with the configured auth manager. A page request without a login is sent to the login page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gapwatch.health.palette import template_globals

URL_PREFIX = "/gapwatch/health"
HERE = Path(__file__).resolve().parent / "gapwatch_health"
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=1, default=str)
# The status and severity styles come from the palette, so every member of their enums has one.
templates.env.globals.update(template_globals())

UserDep = Annotated[BaseUser, Depends(get_user)]
app = FastAPI(title="gapwatch Model Health", description="The gapwatch fleet's health (JSON API)")


@app.exception_handler(HTTPException)
async def _login_for_pages(request: Request, exc: HTTPException) -> Response:
    """A browser asking for a page without a login goes to the login page, not a JSON error."""
    is_api = "/api/" in request.url.path or "/static/" in request.url.path
    if exc.status_code == status.HTTP_401_UNAUTHORIZED and not is_api:
        login = get_auth_manager().get_url_login(next_url=str(request.url))
        return RedirectResponse(login, status_code=status.HTTP_303_SEE_OTHER)
    return await http_exception_handler(request, exc)


def _can_read(user: BaseUser, dag_id: str) -> bool:
    return get_auth_manager().is_authorized_dag(
        method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
    )


def _latest_dag_runs() -> dict[str, Any]:
    """The newest run of each gapwatch DAG from Airflow's metadata database."""
    import sqlalchemy as sa
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from gapwatch.health.model import DagRunState

    newest = (
        sa.select(DagRun.dag_id, sa.func.max(DagRun.run_after).label("run_after"))
        .where(DagRun.dag_id.like("gapwatch\\_\\_%", escape="\\"))
        .group_by(DagRun.dag_id)
        .subquery()
    )
    query = sa.select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.logical_date).join(
        newest, sa.and_(DagRun.dag_id == newest.c.dag_id, DagRun.run_after == newest.c.run_after)
    )
    with create_session() as session:
        return {
            r.dag_id: DagRunState(r.run_id, str(r.state), r.logical_date) for r in session.execute(query)
        }


def _fleet(user: BaseUser) -> list[dict[str, Any]]:
    from gapwatch import store
    from gapwatch.health import model as health

    with store.engine().connect() as conn:
        rows = health.fleet(conn, dag_runs=_latest_dag_runs())
    return [r for r in rows if _can_read(user, r["dag_id"])]


def _detail(user: BaseUser, model: str) -> dict[str, Any]:
    from gapwatch import store
    from gapwatch.health import model as health

    with store.engine().connect() as conn:
        detail = health.model_detail(conn, model, dag_runs=_latest_dag_runs())
    if detail is None or not _can_read(user, detail["summary"]["dag_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no monitored model {model!r}")
    return detail


def _charts(detail: dict[str, Any]) -> dict[str, Any]:
    from gapwatch.health import charts as hc

    spec = detail["spec"] or {"metrics": []}
    last = detail["runs"][-1]["window_start"] if detail["runs"] else None
    return {
        "metrics": [
            {"metric": m["name"], "spec": hc.metric_trend(detail["metrics"], m["name"],
                                                          higher_is_better=m["higher_is_better"])}
            for m in spec["metrics"]
            if any(r["metric"] == m["name"] for r in detail["metrics"])
        ],
        "drift": hc.drift_heatmap(detail["drift"]) if detail["drift"] else None,
        "readiness": hc.readiness_history(detail["readiness"]) if detail["readiness"] else None,
        "incidents": hc.incident_timeline(detail["incidents"], last) if detail["incidents"] else None,
    }


def _ui_root(request: Request) -> str:
    """The Airflow UI's root path, for links to DAG runs (works behind a base_url prefix)."""
    root = request.scope.get("root_path", "")
    return (root[: -len(URL_PREFIX)] if root.endswith(URL_PREFIX) else "") + "/"


# ---------------------------------------------------------------- JSON API


@app.get("/api/fleet")
def api_fleet(user: UserDep) -> dict[str, Any]:
    """Every monitored model the caller may read: owners, status, open incidents, last run, trend."""
    return {"models": _fleet(user)}


@app.get("/api/models/{model}")
def api_model(model: str, user: UserDep) -> dict[str, Any]:
    """One model: metric trends, drift, readiness history, runs, incidents with events, tickets."""
    return _detail(user, model)


@app.get("/api/models/{model}/charts")
def api_model_charts(model: str, user: UserDep) -> dict[str, Any]:
    """The Vega-Lite specs the model page draws."""
    return _charts(_detail(user, model))


# ---------------------------------------------------------------- pages


@app.get("/", response_class=HTMLResponse)
def fleet_page(request: Request, user: UserDep) -> Response:
    from gapwatch.health import charts as hc

    models = _fleet(user)
    sparklines = {m["model"]: hc.sparkline(m["trend"]) for m in models if m["trend"]}
    return templates.TemplateResponse(
        request,
        "fleet.html",
        {"models": models, "sparklines": sparklines, "ui_root": _ui_root(request), "user": user},
    )


@app.get("/models/{model}", response_class=HTMLResponse)
def model_page(request: Request, model: str, user: UserDep) -> Response:
    detail = _detail(user, model)
    return templates.TemplateResponse(
        request,
        "model.html",
        {"d": detail, "charts": _charts(detail), "ui_root": _ui_root(request), "user": user},
    )


@app.get("/dags/{dag_id}", response_class=HTMLResponse)
def dag_tab(request: Request, dag_id: str, user: UserDep) -> Response:
    """The *Model Health* tab on a DAG page: the model page for a monitor DAG."""
    if not dag_id.startswith("gapwatch__"):
        return HTMLResponse(
            f"<p style='font-family:sans-serif'>{html.escape(dag_id)} is not a gapwatch monitor.</p>"
        )
    return model_page(request, dag_id.removeprefix("gapwatch__"), user)


def _file_under(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_file() or not path.is_relative_to(root.resolve()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return path


@app.get("/static/{path:path}")
def static_file(path: str, user: UserDep) -> FileResponse:
    """The page's script and the vendored Vega builds (no CDN: the UI must work offline)."""
    return FileResponse(_file_under(STATIC, path))


@app.get("/data-docs/{path:path}")
def data_docs(path: str, user: UserDep) -> Response:
    """The GX Data Docs site (and nothing else of GAPWATCH_HOME), linked from readiness history.

    A validation page shows a monitor's data, so it needs read access to a DAG of a monitor that
    uses that suite, like the model pages; the site's index and styles only need a login. Pages and
    stylesheets are served offline-ready (``gapwatch.readiness.docs_offline``): CDN assets point at
    the vendored copies under ``static/vendor/datadocs``, and each inline script is served as
    ``<page>.html.inline-<n>.js`` from here, so nothing leaves this origin.
    """
    from gapwatch.readiness import docs_offline as offline
    from gapwatch.readiness.docs import data_docs_dir
    from gapwatch.spec import load_specs

    page, script = path, None
    if path.endswith(".js") and offline.INLINE_SUFFIX in path:
        page, _, number = path.removesuffix(".js").rpartition(offline.INLINE_SUFFIX)
        script = int(number) if number.isdigit() else -1
    root = data_docs_dir()
    file = _file_under(root, page)
    parts = file.relative_to(root).parts
    if len(parts) > 2 and parts[0] in ("validations", "expectations"):
        readers = [s.dag_id for s in load_specs().specs if s.readiness.suite == parts[1]]
        if not any(_can_read(user, dag_id) for dag_id in readers):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    # Relative to the page (data-docs/<parts>), so it works under any mount and base_url.
    up = "../" * len(parts)
    assets, handlers = f"{up}static/vendor/datadocs", f"{up}static/datadocs.js"
    if script is not None:
        body = offline.inline_script(file.read_text(encoding="utf-8"), script) if file.suffix == ".html" else None
        if body is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        return Response(body, media_type="text/javascript")
    if file.suffix == ".html":
        html_text = file.read_text(encoding="utf-8")
        return HTMLResponse(offline.offline_page(html_text, assets=assets, page_name=file.name, handlers=handlers))
    if file.suffix == ".css":
        css = offline.offline_stylesheet(file.read_text(encoding="utf-8"), assets=assets)
        return Response(css, media_type="text/css")
    return FileResponse(file)


class GapwatchHealthPlugin(AirflowPlugin):
    """Registers the app and its two entries in the Airflow UI."""

    name = "gapwatch_health"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "gapwatch Model Health"}]
    external_views = [
        {
            "name": "Model Health",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "model-health",
            "destination": "nav",
            "nav_top_level": True,
        },
        {
            "name": "Model Health",
            "href": URL_PREFIX.lstrip("/") + "/dags/{DAG_ID}",
            "url_route": "model-health-dag",
            "destination": "dag",
        },
    ]
