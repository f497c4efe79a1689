"""What each page shows, read through the repositories and the monitoring inputs: plain dicts for
the templates. No SQL here, and nothing that is not shown (no connection strings, no secrets, no
patient data: the store holds none)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent.alerts.render import SEVERITY_CN, evidence_lines, facts, shown_values
from agent.catalogue.review import STATUS_ZH
from agent.console import charts
from agent.console.auth import may
from agent.domain.catalogue import group_label
from agent.domain.progress import Status
from agent.domain.reporting import MONTH as _MONTH
from agent.jobs.group import group_month, stale
from agent.logging import redact_text
from agent.runtime import Runtime
from agent.store import alerts as alert_repo
from agent.store import catalogue, dictionaries, mappings, monitoring, quarantine, service, usage
from agent.store import console as console_repo
from agent.store import platform as platform_repo

STATUS_CN = {"firing": "告警中", "pending": "待触发", "inactive": "已恢复"}
CONFIRM_CN = {"queued": "待确认", "confirmed": "已确认", "quarantined": "平台拒绝", "withdrawn": "入库已撤销"}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
CHART_POINTS = 24
RECENT_DAYS = 90
DEPT_DAYS = 30  # the product table's department filter: what the department used in the last 30 days
PAGE_SIZE = 100
CLOCK_WORDS = ("hours_left", "days_left", "deadline", "due")


@dataclass
class Console:
    """What the pages read from: the runtime (config, clock, store) and monitoring's inputs."""

    runtime: Runtime
    inputs: Any  # agent.ports.MonitoringInputs
    settled: dict[tuple[date, ...], Any] = field(default_factory=dict)  # 总览's chart before its last day

    def series(self, conn: Any, days: list[date]) -> dict[str, list[Any]]:
        """Each programme's series on ``days``: the days before the last are settled (an evaluation
        writes only its own day), so they are read once and kept; the last day is read every time."""
        past = tuple(days[:-1])
        if past not in self.settled:
            self.settled.clear()
            self.settled[past] = monitoring.progress_series(conn, self.hospital, past) if past else {}
        out = {k: list(v) for k, v in self.settled[past].items()}
        for programme, points in monitoring.progress_series(conn, self.hospital, days[-1:]).items():
            out.setdefault(programme, []).extend(points)
        return out

    @property
    def store(self) -> Any:
        return self.runtime.store

    @property
    def hospital(self) -> str:
        return str(self.runtime.store.hospital_code)

    def now(self) -> datetime:
        return self.runtime.clock.now()

    @property
    def reports_dir(self) -> Path:
        return Path(self.runtime.config.state.directory) / "reports"


def _sample(first: date, last: date, points: int = CHART_POINTS) -> list[date]:
    span = (last - first).days
    if span <= 0:
        return [last]
    step = max(1, -(-span // (points - 1)))
    days = [first + timedelta(days=d) for d in range(0, span, step)]
    return [*days, last]


def _ratio(a: float | None, b: float) -> float | None:
    return None if a is None or not b else a / b


def _open(alerts: dict[str, Any]) -> list[Any]:
    return sorted((a for a in alerts.values() if a.status != "inactive"),
                  key=lambda a: (a.status != "firing", SEVERITY_ORDER.get(a.severity, 3), a.key))


def _names(conn: Any, hospital: str) -> dict[str, catalogue.ProductLabel]:
    return catalogue.product_labels(conn, hospital)


def product_label(p: catalogue.ProductLabel) -> str:
    return f"{p.generic_name} {p.spec or ''}".strip()


# -- 总览 ------------------------------------------------------------------------------------------


def overview(c: Console) -> dict[str, Any]:
    now = c.now()
    with c.store.read() as conn:
        as_of = monitoring.last_progress_day(conn, c.hospital)
        rows = monitoring.progress_on(conn, c.hospital, as_of, by_completion=True) if as_of else []
        days = _sample(min(r.year_start for r in rows), as_of) if rows and as_of else []
        series = c.series(conn, days) if days else {}
        alerts = alert_repo.load_alerts(conn, c.hospital)
        queued = platform_repo.confirmations(conn, c.hospital, "queued", 200)
        names = _names(conn, c.hospital) if rows else {}
    programmes = []
    for name in sorted({r.programme for r in rows}):
        mine = [r for r in rows if r.programme == name]
        points = {d: (agreed, used, acc, tp) for d, agreed, used, acc, tp in series.get(name, [])}
        shown = [d for d in days if d in points]
        chart = charts.line_chart(shown, [
            ("按使用完成进度", [_ratio(points[d][1], points[d][0]) for d in shown]),
            ("按验收完成进度", [_ratio(points[d][2], points[d][0]) for d in shown]),
            ("序时进度", [points[d][3] for d in shown]),
        ], title=f"{name} 完成进度") if shown else ""
        counts = {s.value: sum(1 for r in mine if r.status == s.value) for s in Status}
        programmes.append({"name": name, "products": len(mine), "counts": counts, "chart": chart,
                           "used": sum(r.used for r in mine), "agreed": sum(r.agreed for r in mine)})
    behind = [r for r in rows if r.status in (Status.ZERO.value, Status.BEHIND.value, Status.OVER.value)][:30]
    watch = [{"key": r.product_id, "name": product_label(names[r.product_id]) if r.product_id in names else r.product_id,
              "maker": names[r.product_id].manufacturer if r.product_id in names else "", "status": r.status,
              "completion": r.completion, "accepted_completion": r.accepted_completion, "time_progress": r.time_progress}
             for r in behind]
    opened = _open(alerts)
    by_severity = {SEVERITY_CN[s]: sum(1 for a in opened if a.severity == s and a.status == "firing") for s in SEVERITY_CN}
    clocks = [{"what": f"到货确认 {q.delivery_id}", "left_h": 24 - (now - q.accepted_at).total_seconds() / 3600,
               "link": "/receipts"} for q in queued]
    clocks += [{"what": a.title, "left_h": _hours_left(a, now), "link": f"/alert?key={quote(a.key, safe='')}"} for a in opened
               if any(w in a.values for w in CLOCK_WORDS)]
    clocks.sort(key=lambda x: (x["left_h"] is None, x["left_h"] if x["left_h"] is not None else 0))
    return {"as_of": as_of, "programmes": programmes, "watch": watch, "alerts": [_alert_row(a, now) for a in opened][:20],
            "open_count": len(opened), "by_severity": by_severity, "clocks": clocks[:10]}


def _hours_left(a: Any, now: datetime) -> float | None:
    for k in ("hours_left",):
        if isinstance(a.values.get(k), (int, float)):
            return float(a.values[k])
    if isinstance(a.values.get("days_left"), (int, float)):
        return float(a.values["days_left"]) * 24
    return None


def _alert_row(a: Any, now: datetime) -> dict[str, Any]:
    return {"key": a.key, "title": a.title, "severity": a.severity, "severity_cn": SEVERITY_CN.get(a.severity, a.severity),
            "status_cn": STATUS_CN.get(a.status, a.status), "since": a.fired_at or a.pending_since,
            "acked": a.ack_by if a.acknowledged(now) else None, "facts": facts(a), "resolved_at": a.resolved_at,
            "flapping": a.flapping}


# -- 产品 ------------------------------------------------------------------------------------------

SORTS = {"completion": lambda r: r["completion"], "name": lambda r: r["name"], "gap": lambda r: r["completion"] - r["time_progress"],
         "used": lambda r: r["used"], "group": lambda r: (r["group_label"], r["group"])}


def _group_labels(products: Iterable[catalogue.ProductLabel]) -> list[tuple[str, str]]:
    """(label, key) of each group, by label: a group's label is the first of its products' (two stents of
    one code class may carry different names)."""
    labels: dict[str, str] = {}
    for w in products:
        label = group_label(w.group_key, w.generic_name)
        labels[w.group_key] = min(labels.get(w.group_key, label), label)
    return sorted((label, key) for key, label in labels.items())


def products(c: Console, programme: str = "", status: str = "", group: str = "", dept: str = "", sort: str = "completion",
             page: int = 1) -> dict[str, Any]:
    with c.store.read() as conn:
        as_of = monitoring.last_progress_day(conn, c.hospital)
        rows = monitoring.progress_on(conn, c.hospital, as_of) if as_of else []
        names = _names(conn, c.hospital)
        departments = dictionaries.department_names(conn, c.hospital)
        used_by = None
        if dept and as_of:
            items = usage.items_used_by(conn, c.hospital, c.inputs.usage_sources, dept, as_of - timedelta(days=DEPT_DAYS - 1), as_of)
            links = mappings.winning_items(conn, c.hospital)
            used_by = {links[i] for i in items if i in links}
    table = []
    for r in rows:
        w = names.get(r.product_id)
        grp = w.group_key if w else ""
        if (programme and r.programme != programme) or (status and r.status != status) or (group and grp != group):
            continue
        if used_by is not None and r.product_id not in used_by:
            continue
        table.append({"key": r.product_id, "name": product_label(w) if w else r.product_id,
                      "maker": w.manufacturer if w else "", "programme": r.programme, "group": grp,
                      "group_label": group_label(grp, w.generic_name) if w else "",
                      "agreed": r.agreed, "used": r.used, "completion": r.completion,
                      "accepted_completion": r.accepted_completion, "time_progress": r.time_progress, "status": r.status})
    table.sort(key=SORTS.get(sort, SORTS["completion"]))
    pages = max(1, -(-len(table) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return {"as_of": as_of, "rows": table[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "total": len(table), "page": page,
            "pages": pages, "programmes": sorted({r.programme for r in rows}), "statuses": [s.value for s in Status],
            "groups": _group_labels(names.values()), "departments": sorted(departments.items(), key=lambda d: d[1]),
            "filters": {"programme": programme, "status": status, "group": group, "dept": dept, "sort": sort}}


def product(c: Console, key: str) -> dict[str, Any] | None:
    with c.store.read() as conn:
        w = catalogue.product_labels(conn, c.hospital, key).get(key)
        if w is None:
            return None
        history = monitoring.product_history(conn, c.hospital, key)
        members = mappings.group_members(conn, c.hospital, w.group_key)
        departments = dictionaries.department_names(conn, c.hospital)
    last = history[-1].as_of if history else c.runtime.clock.today()
    first = last - timedelta(days=RECENT_DAYS - 1)
    factor = {m["item_code"]: (float(m["factor"]) if m["factor"] is not None else None) for m in members}
    own = {m["item_code"] for m in members if m["product_key"] == key}
    rivals = [m for m in members if m["product_key"] != key]
    days = [first + timedelta(days=i) for i in range(RECENT_DAYS)]
    per_day = dict.fromkeys(days, 0.0)
    by_dept: dict[str, float] = {}
    rival_used: dict[str, float] = {}
    for u in c.inputs.dept_usage(first, last, list(factor)) if factor else []:  # one read for the product and its group
        qty = u.qty * (factor.get(u.item_code) or 0)
        if u.item_code in own:
            per_day[u.day] = per_day.get(u.day, 0.0) + qty
            by_dept[u.dept] = by_dept.get(u.dept, 0.0) + qty
        else:
            rival_used[u.item_code] = rival_used.get(u.item_code, 0.0) + qty
    mine = [h for h in history if h.year_start == history[-1].year_start] if history else []
    chart = charts.line_chart([h.as_of for h in mine], [
        ("按使用完成进度", [h.completion for h in mine]),
        ("按验收完成进度", [h.accepted_completion for h in mine]),
        ("序时进度", [h.time_progress for h in mine]),
    ], title="完成进度") if mine else ""
    unit = w.smallest_unit or ""
    return {
        "key": key, "name": product_label(w), "product": w, "programme": w.programme, "group": w.group_key, "group_label": group_label(w.group_key, w.generic_name),
        "latest": history[-1] if history else None, "chart": chart, "unit": unit,
        "usage_chart": charts.bar_chart(days, [per_day[d] for d in days], title="每日用量", unit=unit),
        "first": first, "last": last, "no_factor": sorted(i for i in own if factor.get(i) is None),
        "items": [m for m in members if m["product_key"] == key],
        "departments": sorted(((departments.get(d, d or "未知科室"), q) for d, q in by_dept.items()), key=lambda x: -x[1])[:15],
        "rivals": sorted(({"code": m["item_code"], "name": m["item_name"], "winning": m["product_key"] is not None,
                           "maker": (m["item"] or {}).get("manufacturer") or "", "used": rival_used.get(m["item_code"], 0.0),
                           "status": STATUS_ZH.get(m["status"], m["status"])} for m in rivals), key=lambda r: -r["used"]),
    }


# -- 预警 ------------------------------------------------------------------------------------------


def alerts(c: Console) -> dict[str, Any]:
    now = c.now()
    with c.store.read() as conn:
        found = alert_repo.load_alerts(conn, c.hospital)
        current = alert_repo.silences(conn, c.hospital, now)
    recent = sorted((a for a in found.values() if a.status == "inactive" and a.resolved_at), key=lambda a: a.resolved_at,
                    reverse=True)[:30]
    return {"open": [_alert_row(a, now) for a in _open(found)], "recent": [_alert_row(a, now) for a in recent],
            "silences": current}


def alert(c: Console, key: str) -> dict[str, Any] | None:
    now = c.now()
    with c.store.read() as conn:
        a = alert_repo.load_alerts(conn, c.hospital, [key]).get(key)
        if a is None:
            return None
        sent = alert_repo.notifications_of(conn, c.hospital, key)
    values = shown_values(a.values)  # in words: no statistics, numbers rounded
    evidence = evidence_lines(a.evidence)
    return {"a": a, "row": _alert_row(a, now), "values": values, "evidence": evidence, "sent": sent,
            "acked": a.acknowledged(now), "matchers": {"rule": a.rule, "subject": a.subject, **a.labels}}


# -- 到货确认 ---------------------------------------------------------------------------------------


def receipts(c: Console) -> dict[str, Any]:
    now = c.now()
    with c.store.read() as conn:
        queued = platform_repo.confirmations(conn, c.hospital, "queued", 500)
        refused = platform_repo.confirmations(conn, c.hospital, "quarantined", 200)
        done = platform_repo.confirmations(conn, c.hospital, "confirmed", 50)
        unmatched = platform_repo.unmatched_receipts(conn, c.hospital)[:200]
        link = platform_repo.link_state(conn, c.hospital)
    def hours(q: Any) -> float:
        return 24 - (now - q.accepted_at).total_seconds() / 3600
    return {"queued": [(q, hours(q)) for q in queued], "late": [q for q in queued if hours(q) < 0], "refused": refused,
            "done": done, "unmatched": unmatched, "link": _link(link), "state_cn": CONFIRM_CN}


# -- 对码审核 ---------------------------------------------------------------------------------------


def mapping(c: Console) -> dict[str, Any]:
    with c.store.read() as conn:
        queue = mappings.mapping_rows_of(conn, c.hospital, "review")
        groups = sorted(set(catalogue.product_groups(conn, c.hospital).values()))
    return {"queue": queue[:200], "total": len(queue), "groups": groups}


# -- 报表 ------------------------------------------------------------------------------------------


CLUE_PREFIX = "短缺违约线索"  # its xlsx holds the internal prescriber sheet: pharmacist and admin only


def restricted(name: str) -> bool:
    """A file a viewer may neither see listed nor download: the clue report and its draft."""
    return name.startswith(CLUE_PREFIX)


def reports(c: Console, role: str = "viewer") -> dict[str, Any]:
    folder = c.reports_dir
    found = [p for p in folder.glob("*.xlsx") if may(role, "pharmacist") or not restricted(p.name)] if folder.is_dir() else []
    files = sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
    today = c.runtime.clock.today()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return {"files": [{"name": p.name, "size_kb": max(1, p.stat().st_size // 1024),
                       "at": datetime.fromtimestamp(p.stat().st_mtime, c.runtime.clock.tz),
                       "draft": p.with_suffix(".txt").name if p.with_suffix(".txt").is_file() else None} for p in files],
            "last_month": last_month, "last_year": today.year - 1, "hidden": not may(role, "pharmacist")}


def report_file(c: Console, name: str) -> Path | None:
    """A report of the reports folder by its bare file name (xlsx, or a clue report's txt draft), never a
    path outside it."""
    folder = c.reports_dir
    if "/" in name or "\\" in name or name.startswith(".") or not (name.endswith(".xlsx") or
                                                                    (name.endswith(".txt") and restricted(name))):
        return None
    path = folder / name
    return path if path.is_file() and path.resolve().parent == folder.resolve() else None


# -- 数据源 ----------------------------------------------------------------------------------------


def sources(c: Console) -> dict[str, Any]:
    now = c.now()
    with c.store.read() as conn:
        reads = {r.source: r for r in usage.source_reads(conn, c.hospital, c.runtime.clock.today() - timedelta(days=30))}
        held = quarantine.counts(conn, c.hospital)
        jobs = service.job_healths(conn, c.hospital)
        link = platform_repo.link_state(conn, c.hospital)
    rows = []
    for s in c.runtime.config.sources:  # name, kind and preset only: never the connection or its account
        mine = [j for j in jobs if ":" in j.job and j.job.split(":", 1)[1] == s.name]
        ok = [j.last_success_at for j in mine if j.last_success_at]
        errors = [{"job": j.job, "cls": j.last_error_class, "text": redact_text(j.last_error or "")[:160], "failures": j.failures}
                  for j in mine if j.state != "up"]
        rows.append({"name": s.name, "kind": {"his": "HIS", "prescription": "处方", "warehouse": "库房"}.get(s.kind, s.kind),
                     "preset": s.preset, "last_ok": max(ok) if ok else None, "read": reads.get(s.name),
                     "quarantine": held.get(s.name, (0, None)), "errors": errors, "jobs": mine})
    return {"sources": rows, "jobs": jobs, "link": _link(link), "now": now}


def _link(link: Any) -> dict[str, Any] | None:
    """The platform link for a page: its error text masked as the logs mask it."""
    if link is None:
        return None
    return {"state": link.state, "failures": link.failures, "changed_at": link.changed_at,
            "last_error": redact_text(link.last_error or "")[:160]}


# -- 操作记录 ---------------------------------------------------------------------------------------

ACTION_CN = {"login": "登录", "login_failed": "登录失败", "logout": "退出", "ack": "确认预警", "silence": "屏蔽",
             "unsilence": "解除屏蔽", "review": "对码审核", "report": "生成报表", "download": "下载报表",
             "annual_sent": "登记年报已报送",
             "user_add": "新增用户", "user_passwd": "修改密码", "user_disable": "停用用户", "user_enable": "启用用户"}


def audit(c: Console, action: str = "") -> dict[str, Any]:
    with c.store.read() as conn:
        entries = console_repo.audit_log(conn, c.hospital, limit=300, action=action or None)
    return {"entries": entries, "actions": ACTION_CN, "action": action}


# -- 集团 ------------------------------------------------------------------------------------------


def group(c: Console, month: str = "") -> dict[str, Any]:
    """Every hospital of the shared store side by side for a month (default this month), as
    ``report group`` prints it: each hospital's latest figures of the month, stale ones named."""
    today = c.now().astimezone(c.runtime.clock.tz).date()
    this_month = today.strftime("%Y-%m")
    if not _MONTH.match(month or "") or month > this_month:
        month = this_month
    snaps = group_month(c.store, month, today)
    late = set(stale(snaps, month, today))
    hospitals: dict[str, dict[str, Any]] = {}
    for s in snaps:
        f = s.figures
        money = float(f.get("winning_amount") or 0) + float(f.get("non_winning_amount") or 0)
        h = hospitals.setdefault(s.hospital_code, {"code": s.hospital_code, "name": s.hospital_name, "day": s.day,
                                                   "stale": s.hospital_code in late, "mine": s.hospital_code == c.hospital,
                                                   "rows": []})
        completion, tp = f.get("completion"), f.get("time_progress")
        h["rows"].append({"programme": s.programme, "completion": completion, "time_progress": tp,
                          "behind_time": completion is not None and tp is not None and completion < tp,
                          "signed": f.get("signed"), "zero": f.get("zero"), "behind": f.get("behind"), "over": f.get("over"),
                          "non_winning_used": f.get("non_winning_used"),
                          "winning_share": float(f.get("winning_amount") or 0) / money if money else None})
    months = [this_month]
    y, m = today.year, today.month
    for _ in range(11):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        months.append(f"{y:04d}-{m:02d}")
    return {"month": month, "months": months, "hospitals": list(hospitals.values()), "stale": sorted(late)}
