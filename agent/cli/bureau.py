"""The pharmacy's own marks for the bureau's tables (issue #21): substitutable items (可替代产品)
and the split of agreed volumes across departments (科室分配)."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import runtime_of
from agent.cli.table import echo_table


def register(app: typer.Typer) -> None:
    subs = typer.Typer(help="substitutable items (可替代产品) counted in the 带量执行报表", no_args_is_help=True)
    app.add_typer(subs, name="substitutes")

    @subs.command("add")
    def subs_add(
        ctx: typer.Context,
        items: list[str] = typer.Argument(..., help="local item codes (HIS 药品编码)"),
        group: str = typer.Option(..., "--group", help="the group they can replace the winning product in: 阿托伐他汀|片"),
        by: str = typer.Option(..., "--by", help="who marks them (药学部人员姓名)"),
    ) -> None:
        """Mark items as substitutable for a group's winning product (可替代产品)."""
        from agent.catalogue.checks import group_listing
        from agent.store.bureau import mark_substitute

        rt = runtime_of(ctx)
        key, _ = group_listing(rt.store, group)
        if key is None:
            typer.echo(f"“{group}”不是已知的集采分组（写作 通用名|剂型 或 通用名+剂型，如 阿托伐他汀钙片）", err=True)
            raise typer.Exit(1)
        with rt.store.begin() as conn:
            for code in items:
                mark_substitute(conn, rt.store.hospital_code, code, key, by, rt.clock.now())
        typer.echo(f"已标记 {len(items)} 个品种为分组 {key} 的可替代产品")

    @subs.command("remove")
    def subs_remove(ctx: typer.Context, items: list[str] = typer.Argument(..., help="local item codes")) -> None:
        """Remove the substitutable mark."""
        from agent.store.bureau import unmark_substitute

        rt = runtime_of(ctx)
        with rt.store.begin() as conn:
            gone = sum(unmark_substitute(conn, rt.store.hospital_code, code) for code in items)
        typer.echo(f"已取消 {gone} 个品种的可替代标记")

    @subs.command("list")
    def subs_list(ctx: typer.Context) -> None:
        """Every item marked substitutable, with its group."""
        from agent.store.bureau import substitutes

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            marked = substitutes(conn, rt.store.hospital_code)
        if not marked:
            typer.echo("没有标记为可替代的品种")
        else:
            echo_table(("院内编码", "集采分组"), sorted(marked.items()))


    alloc = typer.Typer(help="department allocation of agreed volumes (科室分配)", no_args_is_help=True)
    app.add_typer(alloc, name="allocate")

    def _inputs(ctx: typer.Context):  # type: ignore[no-untyped-def]
        from agent.bootstrap import build_monitoring_inputs

        rt = runtime_of(ctx)
        return rt, build_monitoring_inputs(rt)

    def _show(splits) -> None:  # type: ignore[no-untyped-def]
        echo_table(("中选产品", "名称", "批次", "协议年度起", "约定量", "已分配", "各科室分配"),
                   [(p.product_id, p.name, p.programme, p.year_start.isoformat(), f"{p.agreed_qty:,.0f}", f"{sum(split.values()):,.0f}",
                     "；".join(f"{d} {q:,.0f}（{q / p.agreed_qty:.1%}）" for d, q in sorted(split.items())))
                    for p, split in splits], right={4, 5})

    @alloc.command("import")
    def alloc_import(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="xlsx/xls/csv: 产品编码, 科室编码, 分配量 or 分配比例"),
        by: str = typer.Option(..., "--by", help="the pharmacist confirming the split (姓名)"),
    ) -> None:
        """Import the departments' split of the running agreement years, confirmed as imported."""
        from agent.catalogue.allocations import read_allocations
        from agent.jobs.departments import import_allocations

        rows = read_allocations(file)
        rt, inputs = _inputs(ctx)
        done = import_allocations(rt.store, inputs, rt.clock, rows, by, str(file))
        _show(done)
        typer.echo(f"已导入 {len(done)} 个产品的科室分配（{len(rows)} 行），由 {by} 确认")

    @alloc.command("propose")
    def alloc_propose(
        ctx: typer.Context,
        replace: bool = typer.Option(False, "--replace", help="also re-propose products that have a split"),
    ) -> None:
        """Propose splits from each department's share of last year's usage (to confirm with `allocate confirm`)."""
        from agent.jobs.departments import propose_allocations

        rt, inputs = _inputs(ctx)
        done = propose_allocations(rt.store, inputs, rt.clock, replace=replace)
        _show(done)
        typer.echo(f"已生成 {len(done)} 个产品的科室分配建议，请核对后执行 vbp-agent allocate confirm --by 姓名")

    @alloc.command("confirm")
    def alloc_confirm(
        ctx: typer.Context,
        products: list[str] = typer.Argument(None, help="product codes (default: every proposal)"),
        by: str = typer.Option(..., "--by", help="the pharmacist confirming (姓名)"),
    ) -> None:
        """Confirm proposed splits; only confirmed splits are tracked."""
        from agent.store.bureau import confirm_allocations

        rt = runtime_of(ctx)
        with rt.store.begin() as conn:
            n = confirm_allocations(conn, rt.store.hospital_code, by, rt.clock.now(), products or None)
        typer.echo(f"已确认 {n} 条科室分配")

    @alloc.command("list")
    def alloc_list(ctx: typer.Context) -> None:
        """Every split, confirmed or proposed."""
        from agent.store.bureau import allocations

        rt = runtime_of(ctx)
        with rt.store.read() as conn:
            rows = allocations(conn, rt.store.hospital_code)
        if not rows:
            typer.echo("没有科室分配")
        else:
            echo_table(("批次", "中选产品", "协议年度起", "科室", "分配量", "来源", "状态"),
                       [(a.programme, a.product_key, a.year_start.isoformat(), a.dept_code, f"{a.quantity:,.0f}",
                         "导入" if a.source == "sheet" else "建议", f"已确认（{a.confirmed_by}）" if a.confirmed_by else "待确认")
                        for a in rows], right={4})
