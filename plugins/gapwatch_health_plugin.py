"""Model Health: the gapwatch fleet inside the Airflow UI (an Airflow 3 plugin).

A FastAPI app mounted by the api-server at ``/gapwatch/health`` (pages, a JSON API and the locally
served Vega scripts), *Health* in the navigation, a *Model Health* tab on each monitor DAG's page
(hidden on other DAGs by ``static/tab-scope.js``), a link in each monitor DAG's docs, and a
listener that writes each monitor DAG run's verdict into its note. What is shown comes from ``gapwatch.health.model`` (store reading) and
``gapwatch.health.charts`` (altair); this file only wires them to Airflow.

Airflow does not authenticate plugin apps (a Starlette mount inherits none of the core API's
dependencies), so every route here depends on Airflow's own ``get_user`` (the JWT from the
``Authorization`` header or the UI's ``_token`` cookie) and checks DAG-run read access per monitor
with the configured auth manager. A page request without a login is sent to the login page.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import get_user
from airflow.listeners import hookimpl
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
# No openapi.json, /docs or /redoc: they answered without a login (and /docs loads Swagger from a CDN).
app = FastAPI(
    title="gapwatch Model Health",
    description="The gapwatch fleet's health (JSON API)",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)

# Model Health draws with the vendored Vega, which compiles chart expressions with Function():
# hence 'unsafe-eval' there, and never on Data Docs, which render data values from the source.
_FRAMING = "frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'"
PAGES_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data:; connect-src 'self'; {_FRAMING}"
)
DATA_DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data:; font-src 'self' data:; {_FRAMING}"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",  # Airflow shows Model Health in an iframe of its own UI
    "Referrer-Policy": "same-origin",
}


@app.middleware("http")
async def _security_headers(request: Request, call_next: Any) -> Response:
    """CSP, nosniff, framing and referrer policy on every response of the app, errors included."""
    response: Response = await call_next(request)
    data_docs = request.url.path.startswith(f"{request.scope.get('root_path', '')}/data-docs/")
    response.headers["Content-Security-Policy"] = DATA_DOCS_CSP if data_docs else PAGES_CSP
    response.headers.update(SECURITY_HEADERS)
    return response


@app.exception_handler(HTTPException)
async def _login_for_pages(request: Request, exc: HTTPException) -> Response:
    """A browser asking for a page without a login goes to the login page, not a JSON error.

    ``next`` is the path alone: the Host header is the client's to set, and an absolute URL built
    from it would send the user to any site after login.
    """
    is_api = "/api/" in request.url.path or "/static/" in request.url.path
    if exc.status_code == status.HTTP_401_UNAUTHORIZED and not is_api:
        path = request.url.path
        next_url = "/" + path.lstrip("/") + (f"?{request.url.query}" if request.url.query else "")
        login = get_auth_manager().get_url_login(next_url=next_url)
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
    query = sa.select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.logical_date, DagRun.run_after).join(
        newest, sa.and_(DagRun.dag_id == newest.c.dag_id, DagRun.run_after == newest.c.run_after)
    )
    with create_session() as session:
        return {
            r.dag_id: DagRunState(r.run_id, str(r.state), r.logical_date, r.run_after)
            for r in session.execute(query)
        }


def _paused_dags() -> set[str]:
    """The gapwatch DAGs paused in Airflow: their monitors check nothing (shown stale)."""
    import sqlalchemy as sa
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    query = sa.select(DagModel.dag_id).where(
        DagModel.dag_id.like("gapwatch\\_\\_%", escape="\\"), DagModel.is_paused.is_(True)
    )
    with create_session() as session:
        return set(session.execute(query).scalars())


def _fleet(user: BaseUser) -> list[dict[str, Any]]:
    from gapwatch import store
    from gapwatch.health import adoption as health_adoption
    from gapwatch.health import model as health

    with store.engine().connect() as conn:
        rows = health_adoption.add_to_fleet(conn, health.fleet(conn, dag_runs=_latest_dag_runs(), paused=_paused_dags()))
    return [r for r in rows if _can_read(user, r["dag_id"])]


def _detail(user: BaseUser, model: str) -> dict[str, Any]:
    from gapwatch import store
    from gapwatch.health import adoption as health_adoption
    from gapwatch.health import model as health
    from gapwatch.spec import load_specs

    specs = load_specs()
    with store.engine().connect() as conn:
        detail = health.model_detail(conn, model, dag_runs=_latest_dag_runs(), paused=_paused_dags())
        spec = next((s for s in specs.specs if s.name == model), None)
        detail = health_adoption.add_to_detail(conn, detail, spec)
    if detail is None or not _can_read(user, detail["summary"]["dag_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no monitored model {model!r}")
    return detail


def _charts(detail: dict[str, Any]) -> dict[str, Any]:
    from gapwatch.health import charts as hc
    from gapwatch.health.adoption_charts import adoption_charts

    spec = detail["spec"] or {"metrics": []}
    last = detail["runs"][-1]["window_start"] if detail["runs"] else None
    return {
        "metrics": [
            {"metric": m["name"], "spec": _metric_chart(detail, m)}
            for m in spec["metrics"]
            if any(r["metric"] == m["name"] for r in detail["metrics"]) or _has_estimate(detail, m["name"])
        ],
        "drift": hc.drift_heatmap(detail["drift"]) if detail["drift"] else None,
        "readiness": hc.readiness_history(detail["readiness"]) if detail["readiness"] else None,
        "incidents": hc.incident_timeline(detail["incidents"], last) if detail["incidents"] else None,
        "adoption": adoption_charts(detail.get("adoption")),
    }


def _has_estimate(detail: dict[str, Any], metric: str) -> bool:
    from gapwatch.catalog import Kind

    return metric == detail["summary"]["main_metric"] and any(
        p["series"] == Kind.ESTIMATE for p in detail["performance_series"])


def _metric_chart(detail: dict[str, Any], metric: dict[str, Any]) -> dict[str, Any]:
    """The main metric with its label-free estimate on one chart when there is one; others alone."""
    from gapwatch.health import charts as hc

    series = detail["performance_series"]
    if _has_estimate(detail, metric["name"]):
        baseline = (detail["spec"] or {}).get("baseline") or {}
        reference = (baseline["start"], baseline["end"]) if baseline.get("start") else None
        return hc.estimate_vs_realized(series, metric["name"], higher_is_better=metric["higher_is_better"],
                                       reference=reference)
    return hc.metric_trend(detail["metrics"], metric["name"], higher_is_better=metric["higher_is_better"])


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
def api_model(model: str, user: UserDep, since: str | None = None) -> dict[str, Any]:
    """One model: metric trends, drift, readiness history, runs, incidents with events, tickets
    (``?since=2026-01-05`` keeps the windows from that date on)."""
    return _since(_detail(user, model), since)[0]


@app.get("/api/models/{model}/charts")
def api_model_charts(model: str, user: UserDep) -> dict[str, Any]:
    """The Vega-Lite specs the model page draws."""
    return _charts(_detail(user, model))


# ---------------------------------------------------------------- pages


@app.get("/", response_class=HTMLResponse)
def fleet_page(request: Request, user: UserDep, not_a_monitor: str | None = None) -> Response:
    """The fleet; ``not_a_monitor`` names a DAG whose Model Health tab was opened (a notice)."""
    from gapwatch.health import charts as hc
    from gapwatch.health.palette import STATUS_LABELS

    models = _fleet(user)  # the status filter's labels come from the palette's template globals
    sparklines = {m["model"]: hc.sparkline(m["trend"]) for m in models if m["trend"]}
    counts = [{"status": status, "label": label, "n": sum(m["status"] == status for m in models)}
              for status, label in STATUS_LABELS.items()]
    return templates.TemplateResponse(
        request,
        "fleet.html",
        {"models": models, "sparklines": sparklines, "ui_root": _ui_root(request), "user": user,
         "counts": [c for c in counts if c["n"]], "not_a_monitor": not_a_monitor},
    )


def _since(detail: dict[str, Any], since: str | None) -> tuple[dict[str, Any], str | None]:
    """The model's windows from ``since`` on (the page's time range); unresolved incidents stay."""
    from gapwatch.catalog import IncidentState
    from gapwatch.cli.common import UsageError, parse_when

    if not since:
        return detail, None
    try:
        start = parse_when(since, option="since").date().isoformat()
    except UsageError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    keep = lambda rows, key: [r for r in rows if (r.get(key) or "") >= start]  # noqa: E731
    incidents = [i for i in detail["incidents"]
                 if i["status"] != IncidentState.RESOLVED or (i["resolved_window"] or "") >= start]
    return detail | {"metrics": keep(detail["metrics"], "window"), "drift": keep(detail["drift"], "window"),
                     "readiness": keep(detail["readiness"], "window"), "runs": keep(detail["runs"], "window_start"),
                     "performance_series": keep(detail["performance_series"], "window"),
                     "incidents": incidents}, start


def _segments(model: str, detail: dict[str, Any], since: str | None) -> dict[str, Any] | None:
    from gapwatch import store
    from gapwatch.health import charts as hc
    from gapwatch.health.series import segment_rows

    metric = detail["summary"]["main_metric"]
    if not metric:
        return None
    with store.engine().connect() as conn:
        rows = segment_rows(conn, model, metric, since)
    return hc.segment_trend(rows, metric) if rows else None


@app.get("/models/{model}", response_class=HTMLResponse)
def model_page(request: Request, model: str, user: UserDep, since: str | None = None) -> Response:
    detail, start = _since(_detail(user, model), since)
    return templates.TemplateResponse(
        request,
        "model.html",
        {"d": detail, "charts": _charts(detail) | {"segments": _segments(model, detail, start)},
         "ui_root": _ui_root(request), "user": user, "since": start,
         "app_root": request.scope.get("root_path", ""), "csrf": _csrf_token(user),
         "can_edit": _can_edit(user, detail["summary"]["dag_id"])},
    )


@app.get("/dags/{dag_id}", response_class=HTMLResponse)
def dag_tab(request: Request, dag_id: str, user: UserDep) -> Response:
    """The *Model Health* tab on a monitor DAG's page: that model's page.

    The tab is hidden on other DAGs (``static/tab-scope.js``); opened there anyway, it does not
    pretend the DAG is a monitor: the fleet page, with a notice saying why.
    """
    if not dag_id.startswith("gapwatch__"):
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}/?not_a_monitor={quote(dag_id, safe='')}",
                                status_code=status.HTTP_303_SEE_OTHER)
    return model_page(request, dag_id.removeprefix("gapwatch__"), user)


# ---------------------------------------------------------------- incident actions

ACTIONS = ("acknowledge", "resolve", "snooze")


def _csrf_token(user: BaseUser) -> str:
    """A per-user token the action forms carry: a cross-site page cannot read it, so it cannot
    post an action with the user's cookie (HMAC with the api-server's secret key)."""
    from airflow.configuration import conf

    key = conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret", fallback="")
    return hmac.new(key.encode(), f"gapwatch-incident-action:{user.get_id()}".encode(), hashlib.sha256).hexdigest()


def _can_edit(user: BaseUser, dag_id: str) -> bool:
    """The same permission Airflow asks to change the monitor's DAG (edit on the DAG)."""
    return get_auth_manager().is_authorized_dag(method="PUT", details=DagDetails(id=dag_id), user=user)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def _apply_action(model: str, incident_id: int, action: str, fields: dict[str, str], by: str) -> None:
    """Acknowledge, resolve or snooze through the same lifecycle (and audit trail) as the CLI.

    Raises:
        HTTPException: 404 for an incident not of this model, 409 when its state forbids the
            action, 422 for a snooze time that does not parse or is not in the future.
    """
    from gapwatch import store
    from gapwatch.catalog import IncidentState
    from gapwatch.cli.common import UsageError, parse_when
    from gapwatch.incidents import lifecycle
    from gapwatch.spec import load_specs

    why = fields.get("why", "").strip()
    with store.engine().begin() as conn:
        try:
            incident = lifecycle._incident(conn, incident_id)
        except KeyError:
            incident = None
        if incident is None or incident["monitor"] != model:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident #{incident_id} of {model}")
        spec = load_specs().by_name(model)
        try:
            if action == "acknowledge":
                if incident["status"] != IncidentState.ACKNOWLEDGED:  # a second ack changes nothing
                    lifecycle.acknowledge(conn, spec, incident_id, by=by, why=why)
            elif action == "resolve":
                lifecycle.resolve(conn, spec, incident_id, by=by, why=why)
            else:
                until = parse_when(fields.get("until", ""), option="until")
                lifecycle.snooze(conn, spec, incident_id, until=until, by=by, why=why)
        except UsageError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
        except ValueError as exc:
            code = status.HTTP_422_UNPROCESSABLE_ENTITY if "future" in str(exc) else status.HTTP_409_CONFLICT
            raise HTTPException(code, str(exc)) from exc


@app.post("/models/{model}/incidents/{incident_id}/{action}")
async def incident_action(request: Request, model: str, incident_id: int, action: str, user: UserDep) -> Response:
    """An action from the model page's incident rows, as the logged-in user, then back to the page.

    Messages it queues go out with the operations DAG's next delivery (no channel calls here).
    """
    if action not in ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    detail = _detail(user, model)  # 404 unless the user may read this monitor
    if not _can_edit(user, detail["summary"]["dag_id"]):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not change {detail['summary']['dag_id']}")
    fields = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
    if not _same_origin(request) or not hmac.compare_digest(fields.get("csrf", ""), _csrf_token(user)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form is stale or not from this site; reload the page")
    _apply_action(model, incident_id, action, fields, by=user.get_name())
    root = request.scope.get("root_path", "")
    return RedirectResponse(f"{root}/models/{quote(model)}#incident-{incident_id}", status_code=status.HTTP_303_SEE_OTHER)


def _file_under(root: Path, relative: str) -> Path:
    try:
        path = (root / relative).resolve()
        found = path.is_file() and path.is_relative_to(root.resolve())
    except (ValueError, OSError):  # a NUL byte (%00) or a name the filesystem refuses
        found = False
    if not found:
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
    uses that suite, like the model pages; styles only need a login. GX's index lists every
    monitor's validations, so the index is ours, filtered the same way. Pages and stylesheets are
    served offline-ready (``gapwatch.readiness.docs_offline``): CDN assets point at the vendored
    copies under ``static/vendor/datadocs``, and each inline script is served as
    ``<page>.html.inline-<n>.js`` from here, so nothing leaves this origin.
    """
    from gapwatch.readiness import docs_offline as offline
    from gapwatch.readiness.docs import data_docs_dir

    page, script = path, None
    if path.endswith(".js") and offline.INLINE_SUFFIX in path:
        page, _, number = path.removesuffix(".js").rpartition(offline.INLINE_SUFFIX)
        script = int(number) if number.isdigit() else -1
    root = data_docs_dir()
    if path in ("", "index.html"):
        return _data_docs_index(root, user)
    file = _file_under(root, page)
    parts = file.relative_to(root.resolve()).parts
    if len(parts) > 2 and parts[0] in ("validations", "expectations"):
        if not _readable_suites(user, {parts[1]}):
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


def _readable_suites(user: BaseUser, suites: set[str]) -> set[str]:
    """The suites of ``suites`` some monitor the user may read uses (a suite can serve several)."""
    from gapwatch.spec import load_specs

    return {
        spec.readiness.suite for spec in load_specs().specs
        if spec.readiness.suite in suites and _can_read(user, spec.dag_id)
    }


def _data_docs_index(root: Path, user: BaseUser) -> HTMLResponse:
    """The validation pages the user may read, instead of GX's index (which lists every monitor's).

    A plain list, newest first per suite; every name is escaped.
    """
    validations = root / "validations"
    pages = sorted(validations.glob("*/**/*.html"), reverse=True) if validations.is_dir() else []
    readable = _readable_suites(user, {p.relative_to(validations).parts[0] for p in pages})
    items = [
        f'<li><a href="{html.escape(str(p.relative_to(root)), quote=True)}">'
        f"{html.escape(str(p.relative_to(validations)))}</a></li>"
        for p in pages if p.relative_to(validations).parts[0] in readable
    ]
    body = "<ul>" + "".join(items) + "</ul>" if items else "<p>No validation you may read yet.</p>"
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>gapwatch Data Docs</title></head>"
        f"<body style='font-family:sans-serif'><h1>Readiness validations</h1>{body}</body></html>"
    )


class RunNotes:
    """A listener: when a monitor's DAG run ends, its note says the run's verdict (Grid view).

    Airflow 3's Task SDK cannot write a note from a task (the execution API has no such call), so
    the note is set where the run's state changes (the scheduler, or ``dag.test()``), on the run
    object being saved, from what the publish task stored.
    """

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        self._note(dag_run)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        self._note(dag_run)

    @staticmethod
    def _note(dag_run: Any) -> None:
        from gapwatch import store
        from gapwatch.health.notes import note_for_dag_run

        if not str(dag_run.dag_id).startswith("gapwatch__"):
            return
        with store.engine().connect() as conn:
            note = note_for_dag_run(conn, dag_run.dag_id, dag_run.run_id)
        if note is None:
            note = "**gapwatch: nothing published**: the run ended before its publish task; see the failed task"
        _save_note(dag_run, note)


def _save_note(dag_run: Any, note: str) -> None:
    """Set the note on the run being saved (the scheduler's session commits it); a run detached
    from any session (``dag.test()`` hands one over) is loaded again and saved in our own."""
    import sqlalchemy as sa
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy.orm import object_session

    if object_session(dag_run) is not None:
        dag_run.note = note
        return
    with create_session() as session:
        row = session.scalar(sa.select(DagRun).where(DagRun.dag_id == dag_run.dag_id,
                                                     DagRun.run_id == dag_run.run_id))
        if row is not None:
            row.note = note


class GapwatchHealthPlugin(AirflowPlugin):
    """Registers the app, its menu entry, the monitor DAGs' tab and the run-note listener."""

    name = "gapwatch_health"
    listeners = [RunNotes()]
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "gapwatch Model Health"}]
    # The sidebar's 64 px cut "Model Health" to "Model He...": the entry is "Health" there (the
    # page's title says Model Health). The DAG tab has room for the whole name.
    external_views = [
        {
            "name": "Health",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "model-health",
            "destination": "nav",
            "nav_top_level": True,
        },
        {
            "name": "Model Health",
            "href": URL_PREFIX.lstrip("/") + "/dags/{DAG_ID}",
            "url_route": "model-health-tab",
            "destination": "dag",
        },
    ]
    # Airflow 3.3 shows a "dag" view on every DAG and has no per-DAG filter (its UI keeps every
    # view whose destination is "dag"); this app, in the layout of every page, hides the tab on
    # DAGs that are not monitors. No url_route: it is no page of its own.
    react_apps = [
        {
            "name": "gapwatch_model_health_tab_scope",
            "bundle_url": URL_PREFIX.lstrip("/") + "/static/tab-scope.js",
            "destination": "base",
        },
    ]
