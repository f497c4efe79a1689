"""Off-platform purchases (线下采购, #20 point 4): ``offplatform list``, ``offplatform file LINE --ref NO
--by NAME`` (备案, within 7 working days), ``--emergency`` for an emergency purchase (紧急采购), and
``offplatform exempt ITEM --reason narcotic|psychotropic|preparation`` for items the notices leave
outside 网采率 and filing (麻醉/精神药品, 医疗机构制剂)."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from agent.cli.common import runtime_of
from agent.cli.table import echo_table
from agent.errors import DataError

LIST_DAYS = 90


def register(app: typer.Typer) -> None:
    off = typer.Typer(help="off-platform purchases (线下采购) and their filing (备案)", no_args_is_help=True)
    app.add_typer(off, name="offplatform")

    @off.command("list")
    def listing(ctx: typer.Context, all_: bool = typer.Option(False, "--all", help="filed ones too"),
                days: int = typer.Option(LIST_DAYS, "--days", min=1, max=400, help="accepted in the last N days")) -> None:
        """Off-platform receipt lines of the last N days and whether each is filed (备案)."""
        from agent.store import ledgers

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            lines = ledgers.off_platform_lines(conn, rt.store.hospital_code, rt.clock.now() - timedelta(days=days))
        shown = [ln for ln in lines if all_ or ln.filed_at is None]
        rows = []
        for ln in shown:
            when = ln.accepted_at.astimezone(rt.clock.tz).strftime("%Y-%m-%d %H:%M")
            state = (f"已备案 {ln.reference}（{ln.filed_by}，{ln.filed_at.astimezone(rt.clock.tz):%Y-%m-%d}）"
                     if ln.filed_at else "未备案")
            if ln.emergency:
                state += "  紧急采购"
            rows.append((ln.line_id, when, ln.item_name or ln.item_code, ln.quantity, ln.supplier or "", state))
        echo_table(("入库明细", "验收时间", "药品", "数量", "供应商", "备案"), rows, right={3})
        if not shown:
            typer.echo("没有未备案的线下采购。" if not all_ else "没有线下采购。")

    @off.command("file")
    def file(ctx: typer.Context, line: str = typer.Argument(..., help="the receipt line id (入库明细号)"),
             ref: str = typer.Option(None, "--ref", help="the filing number (备案号)"),
             by: str = typer.Option(None, "--by", help="who filed it"),
             on: str = typer.Option(None, "--on", help="the filing date YYYY-MM-DD (default today)"),
             emergency: bool = typer.Option(False, "--emergency", help="an emergency purchase (紧急采购)")) -> None:
        """Record the filing (备案) of an off-platform purchase; ``--emergency`` alone marks it as an
        emergency purchase still to be filed."""
        from agent.store import ledgers

        rt = runtime_of(ctx)
        if (ref is None) != (by is None) or (ref is None and not emergency):
            raise typer.BadParameter("give both --ref NO and --by NAME (or --emergency alone to mark an emergency purchase)")
        now = rt.clock.now()
        filed_at = None
        if ref is not None:
            try:
                filed_at = datetime.fromisoformat(on).replace(tzinfo=rt.clock.tz) if on else now
            except ValueError:
                raise typer.BadParameter(f"'{on}' is not a date like 2026-11-23", param_hint="--on") from None
        with rt.store.begin() as conn:
            if not ledgers.off_platform_line_exists(conn, rt.store.hospital_code, line):
                raise DataError(f"receipt line {line}: no off-platform receipt line has this id (see `vbp-agent offplatform list`)")
            ledgers.record_filing(conn, rt.store.hospital_code, line, reference=ref, filed_by=by, filed_at=filed_at,
                                  emergency=emergency, now=now)
        what = f"已记录备案 {ref}（{by}）" if ref else "已标记为紧急采购（仍需备案）"
        typer.echo(f"{line}: {what}；下一次评估时更新预警。")

    @off.command("exempt")
    def exempt(ctx: typer.Context, item: str = typer.Argument(..., help="the local item code"),
               reason: str = typer.Option(..., "--reason", help="narcotic | psychotropic | preparation")) -> None:
        """Mark an item the notices exempt (麻醉药品, 精神药品, 医疗机构制剂): outside 网采率 and filing."""
        from agent.store import ledgers

        if reason not in ledgers.EXEMPT_REASONS:
            raise typer.BadParameter(f"--reason {reason}: use one of {', '.join(ledgers.EXEMPT_REASONS)}")
        rt = runtime_of(ctx)
        with rt.store.begin() as conn:
            ledgers.set_exemption(conn, rt.store.hospital_code, item, reason, "review", rt.clock.now())
        typer.echo(f"{item}: {ledgers.EXEMPT_REASONS[reason]}，不计入网采率，线下采购无需备案。")
