"""Platform commands: check, sync, drain, confirmations, (issue #8)."""

from __future__ import annotations

import typer

from agent.cli.common import runtime_of
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


def register(app: typer.Typer) -> None:
    platform = typer.Typer(help="the provincial procurement platform (采购平台)", no_args_is_help=True)
    app.add_typer(platform, name="platform")

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
    def sync(ctx: typer.Context) -> None:
        """Pull new delivery notes (配送单) and match waiting receipts."""
        from agent.jobs.platform import sync_platform

        rt, link = _runtime(ctx)
        try:
            res = sync_platform(rt.store, link, rt.clock)
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

    @platform.command("confirmations")
    def confirmations(ctx: typer.Context, state: str = typer.Option(None, "--state", help="queued|confirmed|quarantined"),
                      limit: int = typer.Option(50, "--limit")) -> None:
        """到货确认 list for staff: delivery line, receipt, quantity, acceptance time, state."""
        from agent.store.platform import confirmations as listing

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            rows = listing(conn, rt.store.hospital_code, state, limit)
        typer.echo(f"{'配送单号':<20} {'入库明细':<16} {'确认数量':>8}  {'验收时间':<16}  状态")
        for r in rows:
            when = r.accepted_at.astimezone(rt.clock.tz).strftime("%Y-%m-%d %H:%M")
            note = f"  {r.platform_message}" if r.platform_message else ""
            typer.echo(f"{r.delivery_id:<20} {r.receipt_line_id:<16} {r.quantity:>8}  {when:<16}  "
                       f"{STATE_LABELS.get(r.state, r.state)}{note}")
        if not rows:
            typer.echo("（无）")

