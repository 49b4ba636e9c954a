"""Real servers on loopback for the far side of the notification channels.

``FakeServices``: one stdlib HTTP server (in a thread, ephemeral port) that speaks the shapes of
a Slack incoming webhook (``POST /services/...``), PagerDuty Events API v2 (``POST /v2/enqueue``),
Jira REST v2 (``POST /rest/api/2/issue``, ``GET /rest/api/2/search``) and a generic webhook
(``POST /hooks/...``). It records every request and can be told to fail (HTTP 5xx), to rate-limit
(HTTP 429 with ``Retry-After``) or to hang (process the request, then answer too late) per path
prefix.

``SmtpSink``: aiosmtpd on an ephemeral port, with AUTH, keeping every mail it receives.

``blackhole``: a TCP server that accepts connections and never says a word (a hung SMTP server
or database).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    outcome: str = "ok"  # ok | failed | rate_limited | hung

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class FakeServices:
    requests: list[Request] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, tuple[str, Any]] = field(default_factory=dict)  # prefix -> (mode, value)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def fail(self, prefix: str, status: int = 503) -> None:
        """Answer every request under ``prefix`` with ``status`` (nothing is processed)."""
        self.failures[prefix] = ("fail", status)

    def rate_limit(self, prefix: str, retry_after: str) -> None:
        """Answer every request under ``prefix`` with 429 and this ``Retry-After`` (nothing processed)."""
        self.failures[prefix] = ("rate_limit", retry_after)

    def hang(self, prefix: str, seconds: float) -> None:
        """Process requests under ``prefix`` but answer only after ``seconds`` (a lost response)."""
        self.failures[prefix] = ("hang", seconds)

    def heal(self) -> None:
        self.failures.clear()

    def received(self, prefix: str, outcome: str | None = "ok") -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix) and (outcome is None or r.outcome == outcome)]

    def _mode(self, path: str) -> tuple[str, Any] | None:
        for prefix, mode in self.failures.items():
            if path.startswith(prefix):
                return mode
        return None


def _handler(services: FakeServices) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, body: Any, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parsed.path, parse_qs(parsed.query),
                              {k: v for k, v in self.headers.items()}, self.rfile.read(length))
            mode = services._mode(parsed.path)
            with services.lock:
                services.requests.append(request)
            if mode and mode[0] == "fail":
                request.outcome = "failed"
                self._reply(int(mode[1]), {"error": "service unavailable (test)"})
                return
            if mode and mode[0] == "rate_limit":
                request.outcome = "rate_limited"
                self._reply(429, {"error": "rate limited (test)"}, headers={"Retry-After": str(mode[1])})
                return
            status, body, content_type = self._process(request)
            if mode and mode[0] == "hang":
                request.outcome = "hung"
                time.sleep(mode[1])
            try:
                self._reply(status, body, content_type)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _process(self, request: Request) -> tuple[int, Any, str]:
            path = request.path
            if path.startswith("/services/"):
                return 200, "ok", "text/plain"
            if path == "/v2/enqueue":
                event = request.json
                if not event.get("routing_key") or event.get("event_action") not in {"trigger", "acknowledge", "resolve"}:
                    return 400, {"status": "invalid event"}, "application/json"
                return 202, {"status": "success", "message": "Event processed",
                             "dedup_key": event.get("dedup_key") or f"generated-{len(services.requests)}"}, "application/json"
            if path == "/rest/api/2/issue" and request.method == "POST":
                fields = request.json["fields"]
                with services.lock:
                    key = f"{fields['project']['key']}-{len(services.issues) + 1}"
                    services.issues.append({"key": key, "fields": fields})
                return 201, {"id": str(len(services.issues)), "key": key, "self": f"{services.url}/rest/api/2/issue/{key}"}, "application/json"
            if path == "/rest/api/2/search":
                jql = (request.query.get("jql") or [""])[0]
                labels = re.findall(r'labels\s*=\s*"([^"]+)"', jql)
                projects = re.findall(r'project\s*=\s*"([^"]+)"', jql)
                found = [
                    {"key": i["key"]} for i in services.issues
                    if all(label in i["fields"].get("labels", []) for label in labels)
                    and all(i["fields"]["project"]["key"] == p for p in projects)
                ]
                return 200, {"startAt": 0, "maxResults": 50, "total": len(found), "issues": found}, "application/json"
            if path.startswith("/hooks/"):
                return 200, {"ok": True}, "application/json"
            return 404, {"error": "unknown path"}, "application/json"

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
            self._handle()

        def do_GET(self) -> None:  # noqa: N802
            self._handle()

    return Handler


@pytest.fixture
def fake_services() -> Any:
    services = FakeServices()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(services))
    server.daemon_threads = True
    services.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield services
    server.shutdown()
    server.server_close()


@pytest.fixture
def blackhole() -> Any:
    """``(host, port)`` of a TCP server that accepts every connection and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)  # the kernel completes the handshakes; nobody ever reads or writes
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield server.getsockname()
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@dataclass
class SmtpSink:
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Any:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    sink = SmtpSink()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        sink.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    class EphemeralController(Controller):
        def _trigger_server(self) -> None:
            # Bound to port 0: learn the real port before aiosmtpd connects to check it is up.
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    controller = EphemeralController(sink, hostname="127.0.0.1", port=0, authenticator=authenticate,
                                     auth_require_tls=False)
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


SECRET = "PLANTED-s3cr3t-7f3a9c"  # planted in every connection; must never leak


def wire_connections(monkeypatch: pytest.MonkeyPatch, services: FakeServices, smtp: SmtpSink | None = None,
                     secret: str = SECRET) -> None:
    """Airflow connections (as AIRFLOW_CONN_* env vars) for every channel, each holding ``secret``."""
    conns: dict[str, dict[str, Any]] = {
        "slack_credit_ml": {"conn_type": "slackwebhook", "host": f"{services.url}/services",
                            "password": f"T000/B000/{secret}"},
        "slack_platform": {"conn_type": "slackwebhook", "host": f"{services.url}/services",
                           "password": f"TPLAT/BPLAT/{secret}"},
        "pagerduty_credit_ml": {"conn_type": "pagerduty_events", "host": services.url,
                                "password": f"oncall-{secret}"},
        "pagerduty_ml_leads": {"conn_type": "pagerduty_events", "host": services.url,
                               "password": f"leads-{secret}"},
        "jira_default": {"conn_type": "jira", "host": services.url, "login": "gapwatch-bot",
                         "password": secret},
        "gapwatch_webhook": {"conn_type": "http", "host": f"{services.url}/hooks/gapwatch",
                             "password": secret},
    }
    if smtp is not None:
        conns["smtp_default"] = {
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": "gapwatch",
            "password": secret,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "gapwatch@example.com",
                      "retry_limit": 0, "timeout": 5},
        }
    for conn_id, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def wired_spec_dir(tmp_path: Any, root: Any, *, channels: list[str], page_for: list[str] | None = None,
                   ack_sla: dict[str, str] | None = None) -> Any:
    """The repo's monitor specs, with credit_default wired to every channel and route."""
    import shutil

    import yaml

    folder = tmp_path / "monitors"
    shutil.copytree(root / "include" / "monitors", folder)
    path = folder / "credit_default.yml"
    spec = yaml.safe_load(path.read_text())
    spec["owners"]["technical_owner"]["slack_conn_id"] = "slack_credit_ml"
    spec["notifications"] = {
        "channels": channels,
        "routes": {
            "credit-ml-oncall": {"channel": "pagerduty", "conn_id": "pagerduty_credit_ml"},
            "ml-leads": {"channel": "pagerduty", "conn_id": "pagerduty_ml_leads"},
            "head-of-ml": {"channel": "email", "to": "head.of.ml@example.com"},
        },
        "escalation": ["ml-leads", "head-of-ml"],
        "page_for": page_for or ["performance"],
        "ack_sla": ack_sla or {"critical": "30m", "warning": "1d"},
        "reopen_cooldown": "14d",
        "tracker": {"channel": "jira", "conn_id": "jira_default", "project": "CRML"},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder
