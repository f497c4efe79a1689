"""Routing (路由): which receivers hear about an alert, with which timers.

Routes are tried in order; the first that matches wins unless it says ``continue = true``. A route
matches on rule (globs), minimum severity, programme (批次 / 联盟) and department (科室) labels.
An alert no route matches goes nowhere, and ``alerts list`` still shows it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from agent.alerts.config import AlertsConfig, RouteConfig
from agent.domain.alerting import SEVERITY_RANK, Alert, Notice, Policy


@dataclass(frozen=True)
class Delivery:
    """A notice bound for one receiver, in the group of its route."""

    receiver: str
    group_key: str
    notice: Notice


def route_matches(route: RouteConfig, alert: Alert) -> bool:
    if not any(fnmatch.fnmatchcase(alert.rule, pat) for pat in route.rules):
        return False
    if SEVERITY_RANK.get(alert.severity, 0) < SEVERITY_RANK[route.min_severity]:
        return False
    if route.programmes and alert.labels.get("programme") not in route.programmes:
        return False
    if route.departments and alert.labels.get("department") not in route.departments:
        return False
    return True


def matching_routes(routes: list[RouteConfig], alert: Alert) -> list[tuple[int, RouteConfig]]:
    found = []
    for i, route in enumerate(routes):
        if route_matches(route, alert):
            found.append((i, route))
            if not route.continue_matching:
                break
    return found


def policy_for(alerts: AlertsConfig, routes: list[RouteConfig], alert: Alert) -> Policy:
    """The lifecycle timers of one key: ``for`` from the alerts section, the rest from its first route."""
    first = next(iter(matching_routes(routes, alert)), None)
    route = first[1] if first else None
    return Policy(
        for_s=alerts.for_by_rule.get(alert.rule, alerts.for_s),
        repeat_s=route.repeat_interval_s if route else None,
        escalate_after_s=route.escalate_after_s if route and route.escalate_to else None,
        flap_changes=alerts.flap_changes,
        flap_window_s=alerts.flap_window_s,
        send_resolved=route.send_resolved if route else True,
    )


def deliveries(routes: list[RouteConfig], notice: Notice) -> list[Delivery]:
    """Where one notice goes: escalations to ``escalate_to``, everything else to ``receivers``."""
    out = []
    for i, route in matching_routes(routes, notice.alert):
        group = f"route{i}:{route.name or 'default'}"
        targets = route.escalate_to if notice.kind == "escalate" else route.receivers
        if notice.kind == "resolved" and not route.send_resolved:
            continue
        out += [Delivery(r, group, notice) for r in targets]
    return out


def route_of_group(routes: list[RouteConfig], group_key: str) -> RouteConfig | None:
    try:
        return routes[int(group_key.split(":", 1)[0].removeprefix("route"))]
    except (ValueError, IndexError):
        return None
