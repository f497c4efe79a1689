"""The pharmacy's own marks for the bureau's tables (issue #21): substitutable items (可替代产品)
and the split of agreed volumes across departments (科室分配)."""

from __future__ import annotations

import typer

from agent.cli.common import runtime_of


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
        for code, group in sorted(marked.items()):
            typer.echo(f"{code}\t{group}")

