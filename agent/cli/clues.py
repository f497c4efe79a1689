"""Clues staff record by hand (短缺 / 违约线索 登记, issue #21): the types the clocks cannot see."""

from __future__ import annotations

import typer

from agent.cli.common import runtime_of
from agent.cli.table import echo_table
from agent.domain.reporting import MONTH as _MONTH
from agent.errors import ConfigError


def _month(text: str) -> str:
    if not _MONTH.match(text):
        raise ConfigError(f"--month {text!r}: use YYYY-MM, e.g. 2026-10")
    return text


def register(app: typer.Typer) -> None:
    clues = typer.Typer(help="shortage and misconduct clues recorded by staff (短缺 / 违约线索)", no_args_is_help=True)
    app.add_typer(clues, name="clues")

    @clues.command("add")
    def clues_add(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="YYYY-MM"),
        supplier: str = typer.Option(..., "--supplier", help="配送企业或生产企业名称"),
        clue_type: str = typer.Option(..., "--type", help="不响应采购订单, 高于挂网价线下供应, 未签带量合同, 未按合同及时供应, "
                                                          "不按中选清单供应, 未提供伴随服务, 中选产品质量问题"),
        detail: str = typer.Option(..., "--detail", help="what happened: dates, quantities, documents"),
        by: str = typer.Option(..., "--by", help="who records it (姓名)"),
        product: str | None = typer.Option(None, "--product", help="the product concerned"),
        role: str = typer.Option("配送企业", "--role", help="配送企业 or 生产企业"),
    ) -> None:
        """Record a clue by hand; it goes in the month's clue report (report clues)."""
        from agent.jobs.clues import record_clue

        rt = runtime_of(ctx)
        n = record_clue(rt.store, rt.clock, _month(month), supplier, clue_type, detail, by, product, role)
        typer.echo(f"已登记线索 {n}：{month} {supplier}「{clue_type.strip()}」（{by.strip()}）")

    @clues.command("list")
    def clues_list(ctx: typer.Context, month: str = typer.Option(..., "--month", help="YYYY-MM")) -> None:
        """The clues staff recorded for a month."""
        from agent.store.clues import clues_of_month

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            rows = clues_of_month(conn, rt.store.hospital_code, _month(month))
        if not rows:
            typer.echo(f"{month} 没有人工登记的线索")
            return
        echo_table(("编号", "企业名称", "企业类型", "线索类型", "产品", "情况", "登记人", "登记时间"),
                   [(c.id, c.supplier, c.role, c.clue_type, c.product or "—", c.detail, c.recorded_by,
                     f"{c.recorded_at.astimezone(rt.clock.tz):%Y-%m-%d %H:%M}") for c in rows], right={0}, limits={5: 40})
