"""Channels: deliver one outbox message to the world, through Airflow's provider hooks.

Each channel is a function ``send(message) -> external reference | None`` that raises on failure
(the outbox retries it). Secrets come from Airflow connections (the UI, a secrets backend, or
``AIRFLOW_CONN_<ID>`` environment variables), never from specs; every secret a channel touches is
registered with Airflow's secrets masker and scrubbed from errors by :func:`redact` and from
every log line (:func:`gapwatch.redaction.install_log_filter`), and the third-party HTTP clients'
DEBUG request logs (which print webhook URLs and auth headers) are kept quiet while sending.

Every attempt is bounded by ``GAPWATCH_CHANNEL_TIMEOUT``; retries belong to the outbox (backoff,
dead letters, order), never to a client resending or sleeping inside the call (slack_sdk's one
immediate reconnect after a refused connection aside: nothing was delivered). A far side that
answers HTTP 429 raises :class:`gapwatch.outbox.RetryAfter` with its ``Retry-After``, so the next
attempt waits at least that long.

==========  =====================================================================================
file        JSON lines in ``GAPWATCH_OUTBOX_FILE`` (embedded default; skips keys it holds)
email       ``SmtpHook`` (apache-airflow-providers-smtp), ``Message-ID`` from the idempotency key
slack       ``SlackWebhookHook`` (apache-airflow-providers-slack), Block Kit message
pagerduty   Events API v2 (pagerduty provider for key and event shape, httpx to post): dedup_key =
            incident fingerprint
jira        ``JiraHook`` (apache-airflow-providers-atlassian-jira): one issue per message, found
            again by label before creating, so a lost response never makes a second issue
webhook     JSON POST through ``HttpHook`` (apache-airflow-providers-http), signed HMAC-SHA256
==========  =====================================================================================

Airflow and the providers are imported lazily, inside the channel functions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gapwatch import config, redaction
from gapwatch.catalog import Severity
from gapwatch.outbox import RetryAfter, Sender

if TYPE_CHECKING:
    from airflow.sdk import Connection

SIGNATURE_HEADER = "X-Gapwatch-Signature"
TIMESTAMP_HEADER = "X-Gapwatch-Timestamp"
# Loggers of HTTP clients that print request URLs, bodies or auth headers at DEBUG.
_CHATTY_LOGGERS = ("slack_sdk", "atlassian", "pagerduty", "httpx", "httpx2", "httpcore", "httpcore2",
                   "urllib3", "requests_oauthlib")

_file_lock = threading.Lock()


def timeout() -> float:
    """Seconds a channel may take before the attempt counts as failed (a hung far side)."""
    return config.settings().channel_timeout


def retry_after_seconds(value: str | None, default: float = 60.0) -> float:
    """Seconds to wait from an HTTP ``Retry-After`` (delta-seconds or an HTTP date).

    A 429 without a readable header still means "slow down": ``default`` then.
    """
    from email.utils import parsedate_to_datetime

    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    from datetime import UTC, datetime

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _raise_if_rate_limited(service: str, status: int, headers: Any) -> None:
    if status == 429:
        seconds = retry_after_seconds((headers or {}).get("Retry-After"))
        raise RetryAfter(f"{service} answered 429 Too Many Requests; retry after {seconds:.0f}s", seconds)


# ---------------------------------------------------------------- secrets


def _remember(*values: Any) -> None:
    """Register secret values: scrubbed by redact() and from every log output (our filter on
    each logging handler and structlog processor), and masked by Airflow's own masker."""
    found = redaction.remember(*values)
    redaction.install_log_filter()
    with contextlib.suppress(Exception):  # the masker is an extra safety net, not a requirement
        from airflow.sdk.log import mask_secret

        for value in found:
            mask_secret(value)


redact = redaction.redact


def connection(conn_id: str) -> Connection:
    """An Airflow connection, with its password and URI registered as secrets."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    _remember(conn.password)
    if conn.password:
        with contextlib.suppress(Exception):
            _remember(conn.get_uri())
    for key in ("token", "api_token", "secret", "routing_key", "integration_key"):
        _remember(conn.extra_dejson.get(key))
    return conn


@contextlib.contextmanager
def _quiet_transport_logs() -> Iterator[None]:
    """Keep third-party HTTP clients off DEBUG while we send (their DEBUG lines carry tokens)."""
    saved = {}
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


# ---------------------------------------------------------------- file


def send_file(message: dict[str, Any], path: Path | None = None) -> str | None:
    """Append the message as one JSON line, unless its idempotency key is already there.

    Reading the file for keys is linear in its size; fine for the embedded default, which is
    what this sink is for (production uses real channels).
    """
    path = path or config.settings().outbox_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock:
        if path.exists():
            with path.open() as fh:
                if any(json.loads(line)["idempotency_key"] == message["idempotency_key"] for line in fh):
                    return None
        with path.open("a") as fh:
            fh.write(json.dumps(message, default=str) + "\n")
    return None


# ---------------------------------------------------------------- email


def _smtp_hook(conn_id: str) -> Any:
    """``SmtpHook`` bounded by ``GAPWATCH_CHANNEL_TIMEOUT`` and making one try.

    The provider takes its socket timeout from the connection's ``timeout`` extra (default 30 s)
    and reconnects/resends up to ``retry_limit`` times (default 5): a server that accepts TCP and
    never answers held one attempt for 6 x 30 s. Here the timeout is the smaller of the extra and
    the channel timeout, and the retry limit is 0 (the outbox retries; a resend inside the hook
    could also deliver a mail twice).
    """
    return _bounded_smtp_hook_class()(smtp_conn_id=conn_id)


@functools.cache
def _bounded_smtp_hook_class() -> type:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class BoundedSmtpHook(SmtpHook):
        @property
        def timeout(self) -> int:
            configured = self.conn.extra_dejson.get("timeout")
            limit = timeout() if configured is None else min(float(configured), timeout())
            return max(int(limit), 1)

        @property
        def smtp_retry_limit(self) -> int:
            return 0

    return BoundedSmtpHook


def send_email(message: dict[str, Any]) -> str | None:
    """Email through Airflow's SMTP provider; the Message-ID makes a resend recognisable."""
    import html

    route = message.get("route") or {}
    address = route.get("to") or message["recipient"].rsplit("<", 1)[-1].rstrip(">")
    conn_id = route.get("conn_id") or config.settings().smtp_conn_id
    connection(conn_id)
    message_id = f"<{message['idempotency_key']}@gapwatch>"
    with _quiet_transport_logs(), _smtp_hook(conn_id) as hook:
        hook.send_email_smtp(
            to=address,
            subject=message["subject"],
            html_content=f"<pre>{html.escape(message['body'])}</pre>",
            custom_headers={
                "Message-ID": message_id,
                "X-Gapwatch-Idempotency-Key": message["idempotency_key"],
            },
        )
    return message_id


# ---------------------------------------------------------------- slack


def slack_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Block Kit: the subject as header, the body as text, the links as buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message["subject"][:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "```" + message["body"][:2900] + "```"}},
    ]
    links = (message.get("payload") or {}).get("links") or {}
    if links:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": name.replace("_", " ").title()},
                     "url": url}
                    for name, url in links.items()
                    if url.startswith(("http://", "https://"))  # Slack rejects any other button URL
                ],
            }
        )
    return blocks


def send_slack(message: dict[str, Any]) -> str | None:
    """Post to a Slack incoming webhook (connection: the webhook URL or token in its password).

    The webhook URL *is* the credential, wherever the connection keeps it (password or host), so
    its path is registered as a secret before anything is sent. The hook's client is called
    directly rather than ``hook.send`` because the provider's response check drops the headers,
    and a 429 needs its ``Retry-After``.
    """
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    conn_id = (message.get("route") or {})["conn_id"]
    connection(conn_id)
    hook = SlackWebhookHook(slack_webhook_conn_id=conn_id, timeout=max(int(timeout()), 1))
    client = hook.client
    _remember(client.url.split("/services/", 1)[1] if "/services/" in client.url else client.url)
    with _quiet_transport_logs():
        response = client.send(text=message["subject"], blocks=slack_blocks(message))
    _raise_if_rate_limited("Slack", response.status_code, response.headers)
    if response.status_code != 200:
        raise RuntimeError(f"Slack answered {response.status_code}: {str(response.body)[:300]}")
    return None


# ---------------------------------------------------------------- pagerduty

PD_ACTIONS = {
    "incident_opened": "trigger",
    "incident_reopened": "trigger",
    "incident_escalated": "trigger",
    "incident_acknowledged": "acknowledge",
    "incident_resolved": "resolve",
    "dead_letter": "trigger",
}


PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com"


def pagerduty_event(message: dict[str, Any], routing_key: str) -> dict[str, Any]:
    """The Events API v2 event for a message, shaped by the provider's ``prepare_event_data``."""
    from airflow.providers.pagerduty.hooks.pagerduty_events import prepare_event_data

    payload = message.get("payload") or {}
    action = PD_ACTIONS.get(payload.get("event", ""), "trigger")
    links = [{"href": url, "text": name.replace("_", " ")} for name, url in (payload.get("links") or {}).items()]
    event = prepare_event_data(
        summary=(payload.get("title") or message["subject"])[:1024],
        severity=str(Severity.CRITICAL if payload.get("severity") == Severity.CRITICAL else Severity.WARNING),
        source=f"gapwatch/{message['monitor']}",
        action=action,
        dedup_key=payload.get("fingerprint"),
        custom_details={"details": message["body"], **(payload.get("facts") or {})},
        component=payload.get("check"),
        group=message["monitor"],
        class_type=payload.get("kind"),
        links=links or None,
        action_key_name="event_action",
    )
    return {"routing_key": routing_key, **event}


def send_pagerduty(message: dict[str, Any]) -> str | None:
    """Trigger, acknowledge or resolve a PagerDuty alert keyed on the incident fingerprint.

    The provider supplies the routing key (``PagerdutyEventsHook`` reads it from the connection)
    and the event's shape (``prepare_event_data``). Its ``send_event`` goes through the
    ``pagerduty`` client, which always targets events.pagerduty.com, refuses any base URL that is
    not https:// and sleeps through its own retries inside the call; so the event is posted here
    with httpx to the connection's host (PagerDuty's EU endpoint, or a loopback test server) or
    events.pagerduty.com, and retries are left to the outbox.
    """
    import httpx
    from airflow.providers.pagerduty.hooks.pagerduty_events import PagerdutyEventsHook

    conn_id = (message.get("route") or {})["conn_id"]
    conn = connection(conn_id)
    routing_key = PagerdutyEventsHook(pagerduty_events_conn_id=conn_id).integration_key
    _remember(routing_key)
    base_url = PAGERDUTY_EVENTS_URL
    if conn.host:
        base_url = conn.host if "://" in conn.host else f"https://{conn.host}"
        if conn.port:
            base_url = f"{base_url}:{conn.port}"
    with _quiet_transport_logs():
        response = httpx.post(f"{base_url.rstrip('/')}/v2/enqueue", json=pagerduty_event(message, routing_key),
                              timeout=timeout())
    _raise_if_rate_limited("PagerDuty", response.status_code, response.headers)
    if response.status_code != 202:
        raise RuntimeError(f"PagerDuty Events API answered {response.status_code}: {response.text[:300]}")
    return str(response.json().get("dedup_key") or "")


# ---------------------------------------------------------------- jira


def jira_label(idempotency_key: str) -> str:
    return f"gapwatch-{idempotency_key[:24]}"


def send_jira(message: dict[str, Any]) -> str | None:
    """Create one Jira issue in the route's project; returns its key.

    The issue carries a label derived from the idempotency key and is searched for before it is
    created, so a retry after a lost or timed-out response finds the issue instead of filing a
    second one.
    """
    from airflow.providers.atlassian.jira.hooks.jira import JiraHook

    route = message.get("route") or {}
    conn_id = route.get("conn_id") or "jira_default"
    project = route["project"]
    connection(conn_id)
    label = jira_label(message["idempotency_key"])
    with _quiet_transport_logs(), _jira_rate_limit():
        client: Any = JiraHook(jira_conn_id=conn_id).get_conn()  # its timeout is annotated int; seconds are float
        client.timeout = timeout()
        # atlassian-python-api sleeps through a 429's Retry-After (up to 30 min) inside the
        # call; the outbox schedules the retry instead.
        client.retry_with_header = False
        client.backoff_and_retry = False
        found = client.jql(f'project = "{project}" AND labels = "{label}"', fields="key", limit=1)
        issues = (found or {}).get("issues") or []
        if issues:
            return str(issues[0]["key"])
        created = client.create_issue(
            fields={
                "project": {"key": project},
                "issuetype": {"name": route.get("issue_type") or "Task"},
                "summary": message["subject"].removeprefix("[gapwatch] ")[:250],
                "description": message["body"],
                "labels": ["gapwatch", message["monitor"], label],
            }
        )
    return str(created["key"])


@contextlib.contextmanager
def _jira_rate_limit() -> Iterator[None]:
    """Turn the Jira client's HTTP 429 error into :class:`RetryAfter`."""
    from requests import HTTPError

    try:
        yield
    except HTTPError as exc:
        response = exc.response
        if response is not None:
            _raise_if_rate_limited("Jira", response.status_code, response.headers)
        raise


# ---------------------------------------------------------------- webhook


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body), as receivers verify it."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_document(message: dict[str, Any]) -> dict[str, Any]:
    keys = ("idempotency_key", "monitor", "recipient_role", "recipient", "subject", "body",
            "incident_id", "ticket_id", "queued_at")
    return {**{k: message.get(k) for k in keys}, "payload": message.get("payload") or {}}


def send_webhook(message: dict[str, Any]) -> str | None:
    """POST the message as JSON, signed with HMAC-SHA256 over the timestamp and the body.

    There is no provider for "a generic signed webhook": signing is the only hand-written part
    (a dozen lines of ``hmac``, in the style of GitHub's and Stripe's webhooks); the transport is
    the HTTP provider's ``HttpHook``. The connection's host is the full URL, its password the
    shared secret; the receiver recomputes the signature and rejects stale timestamps.
    """
    from airflow.providers.http.hooks.http import HttpHook

    conn_id = (message.get("route") or {}).get("conn_id") or "gapwatch_webhook"
    conn = connection(conn_id)
    if not conn.password:
        raise ValueError(f"connection {conn_id!r} has no password (the webhook signing secret)")
    body = json.dumps(webhook_document(message), sort_keys=True, separators=(",", ":"), default=str).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": message["idempotency_key"],
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(conn.password, stamp, body),
    }
    hook = HttpHook(method="POST", http_conn_id=conn_id)
    with _quiet_transport_logs():
        response = hook.run(endpoint=None, data=cast(Any, body),  # requests sends the signed bytes as they are
                            headers=headers,
                            extra_options={"timeout": timeout(), "check_response": False})
    _raise_if_rate_limited("Webhook", response.status_code, response.headers)
    hook.check_response(response)  # the provider's error for any other failure
    return None


def default_senders() -> dict[str, Sender]:
    return {
        "file": send_file,
        "email": send_email,
        "slack": send_slack,
        "pagerduty": send_pagerduty,
        "jira": send_jira,
        "webhook": send_webhook,
    }
