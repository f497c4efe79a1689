"""Alert commands (issue #7): ``alerts list|show|ack|silence|unsilence|silences`` and ``notify test``."""

from __future__ import annotations

import json

import typer

from agent.alerts.render import SEVERITY_CN
from agent.cli.common import runtime_of
from agent.cli.table import echo_table, table
from agent.errors import ConfigError, DataError

STATUS_CN = {"firing": "告警中", "pending": "待触发", "inactive": "已恢复"}


def _runtime(ctx: typer.Context):  # type: ignore[no-untyped-def]
    rt = runtime_of(ctx)
    return rt.config, rt.store, rt.clock


def unrouted_notice(findings: list, source_file: object) -> str:  # type: ignore[type-arg]
    """Findings are active but nothing turns them into alerts: say so, and how to add a route."""
    lines = [f"有 {len(findings)} 条发现尚未发送：{source_file} 中没有配置接收人（[receivers.NAME]）或路由（[[routes]]），"
             "预警不会发到任何群或邮箱。加入一个接收人和一条路由（见 README「Alerts」一节）后重载：systemctl reload vbp-agent"]
    order = {"critical": 0, "warning": 1, "info": 2}
    ordered = sorted(findings, key=lambda f: (order.get(str(f.severity), 3), f.rule, f.subject))
    lines += table(("级别", "发现", "编号"), [(SEVERITY_CN.get(str(f.severity), str(f.severity)), f.title, f.key) for f in ordered],
                   limits={1: 64}, indent="  ")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    alerts = typer.Typer(help="alerts: list, show, acknowledge, silence", no_args_is_help=True)
    app.add_typer(alerts, name="alerts")

    @alerts.command("list")
    def alerts_list(ctx: typer.Context, all_: bool = typer.Option(False, "--all", help="resolved ones too")) -> None:
        """List open alerts (告警)."""
        from agent.alerts.render import SEVERITY_CN, when
        from agent.store import alerts as repo

        cfg, store, clock = _runtime(ctx)
        try:
            with store.read() as conn:
                found = repo.load_alerts(conn, store.hospital_code)
                pending = repo.active_findings(conn, store.hospital_code)
            shown = [a for a in found.values() if all_ or a.status != "inactive"]
            unsent = [f for f in pending if f.key not in found] if not (cfg.receivers and cfg.routes) else []
            if unsent:
                typer.echo(unrouted_notice(unsent, cfg.source_file))
            elif not shown:
                typer.echo("没有未处理的预警。")
            rows = []
            for a in sorted(shown, key=lambda a: (a.status != "firing", -{"critical": 2, "warning": 1}.get(a.severity, 0), a.key)):
                ack = f" 已确认({a.ack_by})" if a.acknowledged(clock.now()) else ""
                flap = " 状态反复" if a.flapping else ""
                rows.append((f"{STATUS_CN.get(a.status, a.status)}{ack}{flap}", SEVERITY_CN.get(a.severity, a.severity),
                             when(a.fired_at or a.pending_since, clock.tz), a.title, a.key))
            if rows:
                echo_table(("状态", "级别", "开始", "预警", "编号（alerts show 编号）"), rows, limits={3: 64})
        finally:
            store.close()

    @alerts.command("show")
    def alerts_show(ctx: typer.Context, key: str) -> None:
        """Show one alert: its values, evidence, acknowledgement and the notices sent."""
        from agent.alerts.render import SEVERITY_CN, evidence_lines, facts, when
        from agent.store import alerts as repo

        cfg, store, clock = _runtime(ctx)
        try:
            with store.read() as conn:
                a = repo.load_alerts(conn, store.hospital_code, [key]).get(key)
                if a is None:
                    raise DataError(f"no alert '{key}': see vbp-agent alerts list --all")
                sent = repo.notifications_of(conn, store.hospital_code, key)
            typer.echo(f"{a.title}\n状态 {STATUS_CN.get(a.status, a.status)}  级别 {SEVERITY_CN.get(a.severity, a.severity)}  "
                       f"开始 {when(a.fired_at or a.pending_since, clock.tz)}  恢复 {when(a.resolved_at, clock.tz)}")
            typer.echo(f"情况 {facts(a, limit=20) or '-'}")
            typer.echo(f"标签 {json.dumps(a.labels, ensure_ascii=False)}")
            for label, lines in evidence_lines(a.evidence):
                typer.echo(f"依据 {label}：{'；'.join(lines)}")
            if a.ack_by:
                typer.echo(f"确认 {a.ack_by} {when(a.ack_at, clock.tz)} 至 {when(a.ack_until, clock.tz) if a.ack_until else '恢复为止'}")
            for r in sent:
                typer.echo(f"通知 {when(r.queued_at, clock.tz)} {r.kind} -> {r.receiver}")
        finally:
            store.close()

    @alerts.command("ack")
    def alerts_ack(
        ctx: typer.Context, key: str, by: str = typer.Option(..., "--by", help="who takes it (姓名)"),
        hours: float = typer.Option(0, "--hours", help="only for this long (0: until it resolves)"),
        note: str = typer.Option("", "--note"),
    ) -> None:
        """Acknowledge (确认) an alert: no repeats and no escalation while acknowledged."""
        from agent.alerts.actions import ack_alert

        _cfg, store, clock = _runtime(ctx)
        try:
            a = ack_alert(store, key, by, hours, note, clock.now())
            typer.echo(f"已确认：{a.title}（{by}）")
        finally:
            store.close()

    @alerts.command("silence")
    def alerts_silence(
        ctx: typer.Context, match: list[str] = typer.Option(..., "--match", help="label=value (globs allowed); repeat for more"),
        hours: float = typer.Option(2.0, "--hours"), by: str = typer.Option(..., "--by"),
        comment: str = typer.Option(..., "--comment", help="why (原因)"),
    ) -> None:
        """Silence (屏蔽) alerts whose labels match, for a time."""
        from agent.alerts.actions import parse_matchers, silence

        matchers = parse_matchers(match)
        _cfg, store, clock = _runtime(ctx)
        try:
            sid = silence(store, matchers, hours, by, comment, clock.now())
            typer.echo(f"已屏蔽 #{sid}：{json.dumps(matchers, ensure_ascii=False)}，{hours:g} 小时")
        finally:
            store.close()

    @alerts.command("unsilence")
    def alerts_unsilence(ctx: typer.Context, silence_id: int) -> None:
        """End a silence now."""
        from agent.alerts.actions import unsilence

        _cfg, store, clock = _runtime(ctx)
        try:
            unsilence(store, silence_id, clock.now())
            typer.echo(f"已解除屏蔽 #{silence_id}")
        finally:
            store.close()

    @alerts.command("silences")
    def alerts_silences(ctx: typer.Context) -> None:
        """List current silences."""
        from agent.alerts.render import when
        from agent.store import alerts as repo

        _cfg, store, clock = _runtime(ctx)
        try:
            with store.read() as conn:
                current = repo.silences(conn, store.hospital_code, clock.now())
            if current:
                echo_table(("编号", "匹配条件", "截止", "操作人", "原因"),
                           [(f"#{s['id']}", json.dumps(s["matchers"], ensure_ascii=False), when(s["ends_at"], clock.tz),
                             s["created_by"], s["comment"]) for s in current])
            else:
                typer.echo("没有生效的屏蔽。")
        finally:
            store.close()

    notify = typer.Typer(help="notification receivers", no_args_is_help=True)
    app.add_typer(notify, name="notify")

    @notify.command("test")
    def notify_test(ctx: typer.Context, receiver: str) -> None:
        """Send a test message to RECEIVER and print the vendor's answer; resumes a stopped receiver."""
        from agent.alerts.delivery import needs_resume, resume_receiver
        from agent.alerts.groups import console_url
        from agent.alerts.render import probe_message
        from agent.notify import build_sender

        cfg, store, clock = _runtime(ctx)
        try:
            if receiver not in cfg.receivers:
                raise ConfigError(f"{cfg.source_file}: receivers: no receiver named '{receiver}' (have: {', '.join(cfg.receivers) or 'none'})")
            sender = build_sender(receiver, cfg.receivers[receiver], clock)
            answer = sender.send(probe_message(receiver, clock.now(), clock.tz, console_url(cfg)))
            typer.echo(f"{receiver}: ok {json.dumps(answer, ensure_ascii=False, default=str)}")
            if needs_resume(store, receiver):
                n = resume_receiver(store, receiver, clock.now())
                typer.echo(f"{receiver}: resumed, {n} held message(s) queued again")
        finally:
            store.close()
