"""The console's routes: a page is a route, a template and a view (``agent.console.views``); an
action is a POST that checks the session, the CSRF token and the role, calls the function the CLI
calls, writes the audit log and redirects back.

Cookies: the session token only, HttpOnly, SameSite=Lax (a link opened from a chat group keeps the
session; forms still need their token), Secure when the console is reached over HTTPS.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from agent.alerts.actions import ack_alert, parse_matchers, silence, unsilence
from agent.catalogue.review import decide_item
from agent.console import auth, views
from agent.console.auth import ROLE_CN, LoggedIn
from agent.console.views import Console
from agent.domain.reporting import MONTH as _MONTH
from agent.errors import AgentError
from agent.jobs.annual import mark_sent
from agent.jobs.clues import clue_report
from agent.jobs.reporting import annual_report, monthly_report
from agent.reports.annual import write_annual
from agent.reports.clues import write_clues
from agent.reports.monthly import write_monthly
from agent.store import console as audit_repo

HERE = Path(__file__).parent
COOKIE, LOGIN_COOKIE = "vbp_session", "vbp_login"
NAV = [("/", "总览"), ("/products", "产品"), ("/alerts", "预警"), ("/receipts", "到货确认"), ("/mapping", "对码审核"),
       ("/reports", "报表"), ("/sources", "数据源"), ("/group", "集团"), ("/audit", "操作记录")]
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, num=_num, q=lambda s: quote(str(s), safe=""))
    return env


def _pct(v: Any) -> str:
    return "-" if v is None else f"{float(v) * 100:.1f}%"


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, (float, Decimal)):
        return f"{float(v):,.0f}" if abs(float(v)) >= 100 else f"{float(v):,.2f}".rstrip("0").rstrip(".")
    return f"{v:,}" if isinstance(v, int) else str(v)


def create_app(console: Console) -> Starlette:
    """The console as an ASGI app over one runtime (its store, clock and config)."""
    env = _templates()
    cfg = console.runtime.config.console
    tz = console.runtime.clock.tz
    env.filters["when"] = lambda t: "-" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    secure = bool(cfg.tls_cert_file) or (cfg.external_url or "").startswith("https://")

    def address(request: Request) -> str | None:
        return request.client.host if request.client else None

    def html(request: Request, template: str, user: LoggedIn | None, status: int = 200, **data: Any) -> HTMLResponse:
        body = env.get_template(template).render(
            user=user, role_cn=ROLE_CN.get(user.role, "") if user else "", nav=NAV, path=request.url.path,
            msg=request.query_params.get("msg", ""), err=request.query_params.get("err", ""),
            hospital=console.runtime.config.hospital, may_act=bool(user and auth.may(user.role, "pharmacist")), **data)
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    async def who(request: Request) -> LoggedIn | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        return await run_in_threadpool(auth.session_user, console.store, token, console.now())

    def page(template: str, view: Callable[..., Any], params: Callable[[Request], dict[str, Any]] = lambda r: {},
             role: str = "viewer", pass_role: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            user = await who(request)
            if user is None:
                return RedirectResponse("/login?" + urlencode({"next": str(request.url.path) + (
                    "?" + request.url.query if request.url.query else "")}), status_code=303)
            if not auth.may(user.role, role):
                return html(request, "error.html", user, 403, message="你的账号没有查看此页的权限。")
            extra = {"role": user.role} if pass_role else {}
            data = await run_in_threadpool(view, console, **params(request), **extra)
            if data is None:
                return html(request, "error.html", user, 404, message="没有找到这一项：可能已被清理，或链接不完整。")
            return html(request, template, user, **data)
        return endpoint

    def action(role: str, do: Callable[[dict[str, str], LoggedIn], tuple[str, str, dict[str, Any], str]],
               back: Callable[[dict[str, str]], str]) -> Callable[[Request], Awaitable[Response]]:
        """A form post: session, CSRF and role checked; ``do`` returns (audit action, target, detail, message)."""
        async def endpoint(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            user = await who(request)
            try:
                if user is None:
                    raise Refused(403, "请先登录。")
                if not auth.same(form.get("csrf", ""), user.csrf):
                    raise Refused(403, "表单已过期或来源不明（缺少校验码），未执行。请刷新页面后重试。")
                if not auth.may(user.role, role):
                    raise Refused(403, f"你的账号（{ROLE_CN.get(user.role, user.role)}）不能执行此操作，未执行。")
            except Refused as exc:
                return html(request, "error.html", user, exc.status, message=str(exc))
            target = back(form)
            try:
                what, subject, detail, message = await run_in_threadpool(do, form, user)
            except (AgentError, ValueError) as exc:
                return RedirectResponse(_with(target, err=_short(exc)), status_code=303)
            await run_in_threadpool(_audit, user.username, what, subject, detail, address(request))
            return RedirectResponse(_with(target, msg=message), status_code=303)
        return endpoint

    def _audit(username: str, what: str, subject: str, detail: dict[str, Any], addr: str | None) -> None:
        with console.store.begin() as conn:
            audit_repo.record(conn, console.hospital, console.now(), username, what, subject, detail, addr)

    # -- logging in --------------------------------------------------------------------------------

    async def login_form(request: Request) -> Response:
        nonce = secrets.token_urlsafe(24)
        resp = html(request, "login.html", None, csrf=nonce, next=_safe_next(request.query_params.get("next", "/")))
        resp.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/login")
        return resp

    async def login_post(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        nxt = _safe_next(form.get("next", "/"))
        if not auth.same(form.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "") or "-"):
            return html(request, "error.html", None, 403, message="登录表单已过期或来源不明（缺少校验码），请重新打开登录页。")
        try:
            got = await run_in_threadpool(auth.login, console.store, form.get("username", "").strip(), form.get("password", ""),
                                          address(request), console.now(), cfg.session_hours, cfg.login_attempts)
        except auth.TooManyAttempts:
            return html(request, "login.html", None, 429, csrf=form.get("csrf", ""), next=nxt,
                        error="登录失败次数过多，请15分钟后再试。")
        if got is None:
            return html(request, "login.html", None, 401, csrf=form.get("csrf", ""), next=nxt, error="用户名或密码不正确。")
        token, _user = got
        resp = RedirectResponse(nxt, status_code=303)
        resp.set_cookie(COOKIE, token, max_age=int(cfg.session_hours * 3600), httponly=True, samesite="lax", secure=secure)
        resp.delete_cookie(LOGIN_COOKIE, path="/login")
        return resp

    async def logout(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        user, token = await who(request), request.cookies.get(COOKIE, "")
        if user is not None and auth.same(form.get("csrf", ""), user.csrf):
            await run_in_threadpool(auth.logout, console.store, token, user.username, address(request), console.now())
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # -- actions -----------------------------------------------------------------------------------

    def do_ack(form: dict[str, str], user: LoggedIn) -> tuple[str, str, dict[str, Any], str]:
        by = form.get("by", "").strip() or user.display_name
        hours = float(form.get("hours") or 0)
        a = ack_alert(console.store, form.get("key", ""), by, hours, form.get("note", ""), console.now())
        return "ack", a.key, {"by": by, "hours": hours, "note": form.get("note", ""), "title": a.title}, f"已确认：{a.title}"

    def do_silence(form: dict[str, str], user: LoggedIn) -> tuple[str, str, dict[str, Any], str]:
        matchers = parse_matchers([line for line in form.get("matchers", "").splitlines() if line.strip()])
        hours = float(form.get("hours") or 2)
        by = form.get("by", "").strip() or user.display_name
        sid = silence(console.store, matchers, hours, by, form.get("comment", ""), console.now())
        return "silence", f"#{sid}", {"matchers": matchers, "hours": hours, "comment": form.get("comment", "")}, \
            f"已屏蔽 #{sid}，{hours:g} 小时"

    def do_unsilence(form: dict[str, str], user: LoggedIn) -> tuple[str, str, dict[str, Any], str]:
        sid = int(form.get("id", "0"))
        unsilence(console.store, sid, console.now())
        return "unsilence", f"#{sid}", {}, f"已解除屏蔽 #{sid}"

    def do_review(form: dict[str, str], user: LoggedIn) -> tuple[str, str, dict[str, Any], str]:
        code = form.get("item", "")
        decision = {"winning": "中选", "non_winning": "非中选", "unrelated": "无关"}.get(form.get("decision", ""), form.get("decision", ""))
        if decision == "中选" and form.get("candidate"):
            decision = f"中选 候选{form['candidate']}"
        changed = decide_item(console.store, code, decision, form.get("group", ""), form.get("factor") or None,
                              console.now(), f"console:{user.username}")
        detail = {"decision": decision, "group": form.get("group", ""), "factor": form.get("factor", "")}
        return "review", code, detail, f"{code}：已审核（{decision}）" if changed else f"{code}：无变化"

    def do_report(form: dict[str, str], user: LoggedIn) -> tuple[str, str, dict[str, Any], str]:
        rt = console.runtime
        folder = console.reports_dir
        folder.mkdir(parents=True, exist_ok=True)
        hosp = rt.config.hospital
        kind = form.get("kind", "monthly")
        if kind == "annual":
            year = _year(form.get("year", ""))
            rep = annual_report(console.inputs, rt.calendar, year, hosp.code, hosp.name, rt.config.monitoring)
            path = write_annual(rep, folder / f"年度报告_{hosp.code}_{year}.xlsx")
            return "report", path.name, {"kind": kind, "year": year}, f"已生成 {path.name}"
        month = form.get("month", "")
        if not _MONTH.match(month):
            raise ValueError(f"月份“{month}”请写作 YYYY-MM，如 2026-10")
        if kind == "clues":  # the internal prescriber sheet rides along: pharmacist+ only, never uploaded
            clues = clue_report(rt.store, rt.clock, month, hosp.name)
            path, _text = write_clues(clues, folder / f"{views.CLUE_PREFIX}_{hosp.code}_{month}.xlsx")
            detail = {"kind": kind, "month": month, "suppliers": len(clues.by_supplier()), "clues": len(clues.clues),
                      "internal": len(clues.internal)}
            return "report", path.name, detail, (f"已生成 {path.name}：{len(clues.by_supplier())} 家企业 {len(clues.clues)} 条线索，"
                                                 f"内部处方集中 {len(clues.internal)} 条（不上报）")
        rep = monthly_report(console.inputs, rt.calendar, month, hosp.code, hosp.name, rt.config.monitoring)
        path = write_monthly(rep, folder / f"带量执行报表_{hosp.code}_{month}.xlsx")
        return "report", path.name, {"kind": "monthly", "month": month}, f"已生成 {path.name}"

    def do_annual_sent(form: dict[str, str], user: LoggedIn) -> tuple[str, str, dict[str, Any], str]:
        year = _year(form.get("year", ""))
        by = form.get("by", "").strip() or user.display_name
        mark_sent(console.store, console.runtime.clock, year, by)
        return "annual_sent", f"{year}", {"by": by}, f"已登记：{year}年度报告由 {by} 报送，提醒停止"

    async def download(request: Request) -> Response:
        user = await who(request)
        if user is None:
            return RedirectResponse("/login?next=/reports", status_code=303)
        path = views.report_file(console, request.path_params["name"])
        if path is None:
            return html(request, "error.html", user, 404, message="没有这份报表。")
        if views.restricted(path.name) and not auth.may(user.role, "pharmacist"):
            return html(request, "error.html", user, 403, message="短缺违约线索含内部处方资料，仅药师及以上账号可下载。")
        await run_in_threadpool(_audit, user.username, "download", path.name, {}, address(request))
        media = "text/plain; charset=utf-8" if path.suffix == ".txt" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return FileResponse(path, filename=path.name, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
                            media_type=media)

    def q(*names: str) -> Callable[[Request], dict[str, Any]]:
        return lambda r: {n: r.query_params.get(n, "") for n in names}

    def products_params(r: Request) -> dict[str, Any]:
        page_no = r.query_params.get("page", "1")
        return {**q("programme", "status", "group", "dept")(r), "sort": r.query_params.get("sort", "completion"),
                "page": int(page_no) if page_no.isdigit() else 1}

    routes = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", page("overview.html", views.overview)),
        Route("/products", page("products.html", views.products, products_params)),
        Route("/product", page("product.html", views.product, q("key"))),
        Route("/alerts", page("alerts.html", views.alerts)),
        Route("/alert", page("alert.html", views.alert, q("key"))),
        Route("/alerts/ack", action("pharmacist", do_ack, lambda f: f"/alert?key={quote(f.get('key', ''), safe='')}"), methods=["POST"]),
        Route("/alerts/silence", action("pharmacist", do_silence, lambda f: "/alerts"), methods=["POST"]),
        Route("/alerts/unsilence", action("pharmacist", do_unsilence, lambda f: "/alerts"), methods=["POST"]),
        Route("/receipts", page("receipts.html", views.receipts)),
        Route("/mapping", page("mapping.html", views.mapping)),
        Route("/mapping/decide", action("pharmacist", do_review, lambda f: "/mapping"), methods=["POST"]),
        Route("/reports", page("reports.html", views.reports, pass_role=True)),
        Route("/reports/generate", action("pharmacist", do_report, lambda f: "/reports"), methods=["POST"]),
        Route("/reports/annual-sent", action("pharmacist", do_annual_sent, lambda f: "/reports"), methods=["POST"]),
        Route("/reports/file/{name}", download),
        Route("/sources", page("sources.html", views.sources)),
        Route("/group", page("group.html", views.group, q("month"))),
        Route("/audit", page("audit.html", views.audit, q("action"))),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)


def _with(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _year(text: str) -> int:
    year = int(text) if text.strip().isdigit() else 0
    if not 2000 <= year <= 2100:
        raise ValueError(f"年份“{text}”不对，请写作四位数字，如 2026")
    return year


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


def _safe_next(nxt: str) -> str:
    """Only a path of this console (no scheme, no //host): an open redirect would send a login elsewhere."""
    return nxt if re.match(r"^/(?![/\\])", nxt) and not re.search(r"[\\\s\x00-\x1f]", nxt) else "/"
