"""Routing: which destinations a message goes to, decided from the monitor spec.

The rules (README "Notifications"): owners hear about their incidents on the spec's
``notifications.channels`` (data incidents reach the data steward, model incidents the technical
owner, warnings the technical owner's Slack channel); critical incidents of the kinds in
``page_for`` page the technical owner's ``oncall_route``; an incident unacknowledged past its SLA
goes to the next ``escalation`` route; tickets go to the owning team's ``tracker``; dead letters
go to the platform route (``GAPWATCH_PLATFORM_ROUTE``). A destination carries connection ids and
project keys, never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gapwatch import config
from gapwatch.catalog import IncidentEvent, Role, Severity
from gapwatch.spec import MonitorSpec, Person, Route

# The events a page follows through: the on-call route hears the page open, reopen and end.
PAGE_EVENTS = {IncidentEvent.OPENED, IncidentEvent.REOPENED, IncidentEvent.ACKNOWLEDGED, IncidentEvent.RESOLVED}
# Routes that paged or escalated hear how it ended.
END_EVENTS = {IncidentEvent.ACKNOWLEDGED, IncidentEvent.RESOLVED}


@dataclass(frozen=True)
class Destination:
    """One channel and address a message is queued for.

    Attributes:
        channel: file, email, slack, pagerduty, jira or webhook.
        role: who it is for (a ``Role``).
        recipient: a readable address ("Name <email>", "#channel", route name, Jira project).
        route: channel settings the sender needs (conn_id, to, project, issue_type, name).
    """

    channel: str
    role: Role
    recipient: str
    route: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identifies the destination inside an idempotency key."""
        target = self.route.get("name") or self.route.get("conn_id") or ""
        return f"{self.role}|{self.channel}" + (f"|{target}" if target else "")


def person_destinations(spec: MonitorSpec, person: Person, role: Role) -> list[Destination]:
    """A person reached on every channel the spec enables that the person can be reached on."""
    recipient = f"{person.name} <{person.email}>"
    out: list[Destination] = []
    for channel in spec.notifications.channels:
        if channel == "file":
            out.append(Destination("file", role, recipient))
        elif channel == "email":
            out.append(Destination("email", role, recipient, {"to": str(person.email)}))
        elif channel == "slack" and person.slack_conn_id:
            out.append(
                Destination("slack", role, person.slack_channel or recipient, {"conn_id": person.slack_conn_id})
            )
        elif channel == "webhook":
            out.append(Destination("webhook", role, recipient, {"conn_id": spec.notifications.webhook_conn_id}))
    return out


def route_destination(name: str, route: Route, role: Role) -> Destination:
    settings: dict[str, Any] = {"name": name, **route.model_dump(exclude_none=True, exclude={"channel"})}
    if route.channel != "jira":
        settings.pop("issue_type", None)
    recipient = {"email": str(route.to), "jira": route.project or name}.get(route.channel, name)
    return Destination(route.channel, role, recipient, settings)


def _pages(spec: MonitorSpec, kind: str, severity: str) -> bool:
    return severity == Severity.CRITICAL and kind in spec.notifications.page_for


def oncall_destinations(spec: MonitorSpec) -> list[Destination]:
    name = spec.owners.technical_owner.oncall_route
    if not name:
        return []
    route = spec.notifications.routes.get(name)
    if route is not None:
        return [route_destination(name, route, Role.ONCALL)]
    # No route defined: the embedded default records the page in the file sink only.
    return [Destination("file", Role.ONCALL, name)] if "file" in spec.notifications.channels else []


def escalation_destinations(spec: MonitorSpec, levels: range) -> list[Destination]:
    names = spec.notifications.escalation
    return [
        route_destination(names[i], spec.notifications.routes[names[i]], Role.ESCALATION)
        for i in levels
        if 0 <= i < len(names)
    ]


def incident_destinations(
    spec: MonitorSpec, *, kind: str, severity: str, owner_role: str, event: str, escalation_level: int = 0
) -> list[Destination]:
    """Where an incident event goes.

    Args:
        spec: the monitor.
        kind: data, performance or drift.
        severity: critical or warning.
        owner_role: the accountable role (data_steward or technical_owner).
        event: opened, reopened, acknowledged, resolved or escalated.
        escalation_level: for ``escalated`` the level just reached (1 = first escalation route);
            for the other events how far the incident had escalated (those routes hear the end).
    """
    if event == IncidentEvent.ESCALATED:
        return escalation_destinations(spec, range(escalation_level - 1, escalation_level))
    out = person_destinations(spec, getattr(spec.owners, owner_role), Role(owner_role))
    if event in PAGE_EVENTS and _pages(spec, kind, severity):
        out += oncall_destinations(spec)
    if event in END_EVENTS:
        out += escalation_destinations(spec, range(escalation_level))
    return out


def ticket_destinations(spec: MonitorSpec, owner_role: Role) -> list[Destination]:
    """The owning team's tracker plus the accountable owner's channels."""
    out = []
    tracker = spec.notifications.tracker
    if tracker is not None:
        out.append(route_destination("tracker", tracker, Role.TRACKER))
    return out + person_destinations(spec, getattr(spec.owners, owner_role), owner_role)


def platform_destination() -> Destination:
    """Where alerts about gapwatch itself (dead letters) go, from ``GAPWATCH_PLATFORM_ROUTE``.

    ``file`` (default), ``email:ADDRESS``, ``slack:CONN_ID``, ``pagerduty:CONN_ID`` or
    ``webhook:CONN_ID`` (the form is checked when the settings are read).
    """
    channel, _, target = config.settings().platform_route.partition(":")
    if channel == "file":
        return Destination("file", Role.PLATFORM, "platform team")
    if channel == "email":
        return Destination("email", Role.PLATFORM, target, {"to": target, "name": "platform"})
    return Destination(channel, Role.PLATFORM, target, {"conn_id": target, "name": "platform"})
