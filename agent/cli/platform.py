"""Platform commands: check, sync, drain, confirmations, (issue #8)."""

from __future__ import annotations

import typer

from agent.cli.common import parse_day, runtime_of
from agent.cli.table import echo_table
from agent.errors import ConfigError
from agent.upstream.signers import sm3_implementation

STATE_LABELS = {"queued": "待确认", "confirmed": "已确认", "quarantined": "平台拒绝（需人工处理）",
                "withdrawn": "入库记录已撤销，未确认"}


def _runtime(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from agent.bootstrap import build_platform_link

    rt = runtime_of(ctx)
    link = build_platform_link(rt.config)
    if link is None:
        raise ConfigError(f"{rt.config.source_file}: platform: the section is missing, so there is no platform to talk to")
    return rt, link


def _late(late) -> str:  # type: ignore[no-untyped-def]
    """How late, for staff: 逾期 3 天 5 小时 (whole hours)."""
    hours = int(late.total_seconds() // 3600)
    if hours <= 0:
        return "未超时"
    return f"逾期 {hours // 24} 天 {hours % 24} 小时" if hours >= 24 else f"逾期 {hours} 小时"


def _backlog(ctx: typer.Context, since: str | None, option: str):  # type: ignore[no-untyped-def]
    """(runtime, platform config, since, backlog) read from the store; prints the preview."""
    from datetime import datetime, time

    from agent.upstream.backlog import backlog

    rt = runtime_of(ctx)
    pcfg = rt.config.platform
    if pcfg is None:
        raise ConfigError(f"{rt.config.source_file}: platform: the section is missing, so there is no platform to confirm on")
    day = parse_day(since, option)
    start = datetime.combine(day, time.min, rt.clock.tz) if day is not None else None
    with rt.store.read() as conn:
        found = backlog(conn, rt.store.hospital_code, since=start, item_map=pcfg.item_map,
                        min_confidence=pcfg.match_min_confidence)
    now = rt.clock.now()
    def when(r):  # type: ignore[no-untyped-def]
        return r.accepted_at.astimezone(rt.clock.tz).strftime("%Y-%m-%d %H:%M") if r.accepted_at else "-"

    echo_table(("配送单号", "入库明细", "品种", "数量", "验收时间", "到货确认时限"),
               [(ln.delivery_id, ln.receipt.line_id, ln.receipt.item_code, ln.receipt.quantity, when(ln.receipt),
                 _late(ln.late_by(now))) for ln in found.lines], right={3})
    if not found.lines:
        typer.echo("（无）")
    limit = pcfg.auto_confirm_max_age_days
    typer.echo(f"共 {len(found.lines)} 条平台配送单仍未到货确认，已匹配到库房验收记录"
               f"（验收超过 {limit:g} 天的不会自动确认：[platform] auto_confirm_max_age_days）")
    if found.unmatched:
        typer.echo(f"另有 {len(found.unmatched)} 条验收记录未匹配到平台配送单（先运行 `vbp-agent platform sync --since 日期` 读取更早的配送单，"
                   "仍未匹配的请在平台人工确认）")
    return rt, pcfg, found


def register(app: typer.Typer) -> None:
    platform = typer.Typer(help="the provincial procurement platform (采购平台)", no_args_is_help=True)
    app.add_typer(platform, name="platform")
    register_distributors(platform)

    @platform.command("check")
    def check(ctx: typer.Context) -> None:
        """Check the signer on this machine and that the platform accepts our credentials (a token
        where the profile has one, never printed; else a one-line delivery pull)."""
        rt, link = _runtime(ctx)
        try:
            typer.echo(f"profile {link.config.profile}, signer {link.config.signer_name} (SM3 from {sm3_implementation()})")
            typer.echo(f"{link.client.check()} from {link.config.base_url}")
        finally:
            link.close()

    @platform.command("sync")
    def sync(ctx: typer.Context, since: str = typer.Option(
            None, "--since", help="also read delivery notes listed since YYYY-MM-DD (the first sync reads 7 days)")) -> None:
        """Pull new delivery notes (配送单) and match waiting receipts."""
        from datetime import datetime, time

        from agent.jobs.platform import sync_platform

        day = parse_day(since, "--since")
        rt, link = _runtime(ctx)
        try:
            res = sync_platform(rt.store, link, rt.clock,
                                datetime.combine(day, time.min, rt.clock.tz) if day is not None else None)
            typer.echo(f"delivery lines read: {res.lines} in {res.pages} page(s); confirmations queued: {res.queued}")
        finally:
            link.close()

    @platform.command("drain")
    def drain(ctx: typer.Context, limit: int = typer.Option(None, "--limit", help="send at most this many")) -> None:
        """Send due arrival confirmations (到货确认) and reports now."""
        from agent.jobs.platform import drain_platform

        rt, link = _runtime(ctx)
        try:
            res = drain_platform(rt.store, link, rt.clock, limit)
            held = f"; link held until {res.held_until:%Y-%m-%d %H:%M:%S}" if res.held_until else ""
            typer.echo(f"sent {res.sent}, quarantined {res.quarantined}{held}")
        finally:
            link.close()

    @platform.command("backlog")
    def backlog_cmd(ctx: typer.Context,
                    since: str = typer.Option(None, "--since", help="only receipts accepted on or after YYYY-MM-DD")) -> None:
        """Open platform deliveries (配送单) matched to stored receipts of any age that were never
        confirmed, with how late each is; changes nothing (`platform confirm` queues them)."""
        _backlog(ctx, since, "--since")

    @platform.command("confirm")
    def confirm_cmd(ctx: typer.Context,
                    since: str = typer.Option(..., "--since", help="receipts accepted on or after YYYY-MM-DD"),
                    yes: bool = typer.Option(False, "--yes", help="queue without asking")) -> None:
        """Queue the 到货确认 of the backlog since a day, after showing it (`platform drain` or the
        running agent sends them)."""
        from agent.upstream.backlog import confirm_backlog

        rt, pcfg, found = _backlog(ctx, since, "--since")
        if not found.lines:
            return
        if not yes and not typer.confirm(f"将以上 {len(found.lines)} 条到货确认加入发送队列？"):
            typer.echo("未加入任何到货确认")
            raise typer.Exit(1)
        with rt.store.begin() as conn:
            queued = confirm_backlog(conn, rt.store.hospital_code, rt.clock.now(), found.lines, item_map=pcfg.item_map,
                                     min_confidence=pcfg.match_min_confidence)
        typer.echo(f"已加入发送队列 {queued} 条到货确认（运行中的 agent 或 `vbp-agent platform drain` 发送）")

    @platform.command("confirmations")
    def confirmations(ctx: typer.Context, state: str = typer.Option(None, "--state", help="queued|confirmed|quarantined"),
                      limit: int = typer.Option(50, "--limit")) -> None:
        """到货确认 list for staff: delivery line, receipt, quantity, acceptance time, state."""
        from agent.store.platform import confirmations as listing

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            rows = listing(conn, rt.store.hospital_code, state, limit)
        echo_table(("配送单号", "入库明细", "确认数量", "验收时间", "状态"),
                   [(r.delivery_id, r.receipt_line_id, r.quantity, r.accepted_at.astimezone(rt.clock.tz).strftime("%Y-%m-%d %H:%M"),
                     STATE_LABELS.get(r.state, r.state) + (f"  {r.platform_message}" if r.platform_message else "")) for r in rows],
                   right={2})
        if not rows:
            typer.echo("（无）")



def register_distributors(platform: typer.Typer) -> None:
    @platform.command("distributors")
    def distributors(ctx: typer.Context, days: int = typer.Option(90, "--days", min=1, max=400,
                                                                  help="orders placed in the last N days")) -> None:
        """配送企业履约: orders, unanswered, late and short deliveries per distributor, and the draft of
        the written report (书面报备) for each order still unanswered past 48 hours."""
        from datetime import timedelta

        from agent.domain.deadlines import DeadlineRules, distributor_records, written_report
        from agent.store.ledgers import orders_since
        from agent.store.monitoring_inputs import as_order

        rt = runtime_of(ctx)
        now = rt.clock.now()
        with rt.store.read() as conn:
            orders = [as_order(o, rt.clock.tz) for o in orders_since(conn, rt.store.hospital_code, now - timedelta(days=days))]
        d = rt.config.monitoring.deadlines
        rules = DeadlineRules(remote_area=d.remote_area, delivery_hours_urban=d.delivery_hours_urban,
                              delivery_hours_other=d.delivery_hours_other)
        echo_table(("配送企业", "订单", "未按时响应", "迟送", "短送"),
                   [(r.distributor, r.orders, r.unanswered, r.late, r.short) for r in distributor_records(orders, now, rules)],
                   right={1, 2, 3, 4})
        if not orders:
            typer.echo(f"近 {days} 天没有平台订单。")
        for o in orders:
            due = o.ordered_at + timedelta(hours=rules.response_hours)
            if o.responded_at is None and o.delivered_at is None and now > due:
                typer.echo("\n" + written_report(o, due, now))
