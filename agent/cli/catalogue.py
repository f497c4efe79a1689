"""Catalogue commands: import winners / volumes (preview, then commit), map run / export / import."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from agent.cli.common import parse_day, runtime_of
from agent.cli.table import echo_table


def _runtime(ctx: typer.Context):  # type: ignore[no-untyped-def]
    rt = runtime_of(ctx)
    return rt.config, rt.store, rt.clock


def _confirm(plan, yes: bool, dry_run: bool) -> bool:  # type: ignore[no-untyped-def]
    from agent.catalogue.importing import render

    typer.echo(render(plan))
    if dry_run:
        typer.echo("预览完毕，未写入（--dry-run）。")
        return False
    if not plan.rows:
        typer.echo("没有可导入的行，未写入。")
        return False
    if yes:
        return True
    if sys.stdin.isatty():
        return typer.confirm("确认导入？", default=False)
    typer.echo("未写入：确认无误后加 --yes 提交。")
    return False


def register(app: typer.Typer) -> None:
    imp = typer.Typer(help="import the bureau's spreadsheets", no_args_is_help=True)
    app.add_typer(imp, name="import")

    @imp.command("winners")
    def winners(
        ctx: typer.Context,
        file: Path,
        programme: str = typer.Option(..., "--programme", help="the programme (批次) name"),
        kind: str = typer.Option("drug", "--kind", help="drug | consumable"),
        level: str = typer.Option("national", "--level", help="national | provincial | alliance"),
        cycle_start: str = typer.Option(None, "--cycle-start", help="first day of the cycle (采购周期), e.g. 2025-03-01"),
        cycle_end: str = typer.Option(None, "--cycle-end", help="last day of the cycle"),
        extend_to: list[str] = typer.Option([], "--extend-to", help="a new cycle end after an extension (延期); repeatable"),
        replace: bool = typer.Option(False, "--replace", help="the file is the whole list: remove products it no longer holds"),
        yes: bool = typer.Option(False, "--yes", help="commit without asking"),
        dry_run: bool = typer.Option(False, "--dry-run", help="preview only"),
    ) -> None:
        """Import a programme's winning products (中选产品)."""
        from agent.catalogue.winners import commit_winners, plan_winners
        from agent.domain.catalogue import Kind, Level, Programme
        from agent.store.catalogue import load_programme

        if kind not in ("drug", "consumable") or level not in ("national", "provincial", "alliance"):
            raise typer.BadParameter("--kind drug|consumable, --level national|provincial|alliance")
        cfg, store, clock = _runtime(ctx)
        try:
            with store.read() as conn:
                existing = load_programme(conn, store.hospital_code, programme)
            start, end = parse_day(cycle_start, "--cycle-start"), parse_day(cycle_end, "--cycle-end")
            ext = tuple(d for d in (parse_day(t, "--extend-to") for t in extend_to) if d)
            prog = None
            if start or end or ext or existing is None:
                start, end = start or (existing and existing.cycle_start), end or (existing and existing.cycle_end)
                if not start or not end:
                    raise typer.BadParameter(f"programme '{programme}' is new: give --cycle-start and --cycle-end")
                prog = Programme(programme, Kind(kind), Level(level), start, end,
                                 tuple(sorted(set((existing.extensions if existing else ()) + ext))))
            plan = plan_winners(store, file, programme, Kind(kind) if existing is None else existing.kind, replace,
                                limits=cfg.catalogue)
            if _confirm(plan, yes, dry_run):
                counts = commit_winners(store, plan, prog, clock.now())
                typer.echo(f"已导入：新增{counts['inserted']}，更新{counts['updated']}，不变{counts['unchanged']}，"
                           f"拒绝{len(plan.errors)}，删除{counts.get('removed', 0)}")
        finally:
            store.close()

    @imp.command("volumes")
    def volumes(
        ctx: typer.Context,
        file: Path,
        programme: str = typer.Option(..., "--programme"),
        year: int = typer.Option(..., "--year", help="agreement year number (协议年度), 1 for the first"),
        yes: bool = typer.Option(False, "--yes", help="commit without asking"),
        dry_run: bool = typer.Option(False, "--dry-run", help="preview only"),
    ) -> None:
        """Import agreed volumes (约定采购量) for an agreement year."""
        from agent.catalogue.volumes import commit_volumes, plan_volumes

        cfg, store, clock = _runtime(ctx)
        try:
            plan = plan_volumes(store, file, programme, year, (cfg.hospital.name,), limits=cfg.catalogue)
            if _confirm(plan, yes, dry_run):
                counts = commit_volumes(store, plan, clock.now())
                typer.echo(f"已导入：新增{counts['inserted']}，更新{counts['updated']}，不变{counts['unchanged']}，拒绝{len(plan.errors)}")
        finally:
            store.close()

    @imp.command("declared")
    def import_declared(
        ctx: typer.Context,
        file: Path,
        programme: str = typer.Option(..., "--programme"),
        yes: bool = typer.Option(False, "--yes", help="commit without asking"),
        dry_run: bool = typer.Option(False, "--dry-run", help="preview only"),
    ) -> None:
        """Import the volume declaration (报量表); the next evaluation checks it against last year's
        agreed volume and the hospital's own history."""
        from agent.catalogue.declared import commit_declared, plan_declared

        cfg, store, clock = _runtime(ctx)
        try:
            plan = plan_declared(store, file, programme, limits=cfg.catalogue)
            if _confirm(plan, yes, dry_run):
                n = commit_declared(store, plan, clock.now())
                typer.echo(f"已导入报量 {n} 行，拒绝 {len(plan.errors)} 行；评估时核对上年约定采购量与历史用量。")
        finally:
            store.close()

    mapping = typer.Typer(help="map local items to national codes (对码)", no_args_is_help=True)
    app.add_typer(mapping, name="map")

    @mapping.command("run")
    def map_run(ctx: typer.Context, items: Path = typer.Option(None, "--items", help="the HIS item dictionary (xlsx/xls/csv)")) -> None:
        """Propose mappings for every local item; high confidence is accepted, the rest awaits review."""
        from agent.catalogue.items_file import read_items
        from agent.catalogue.mapping import map_items
        from agent.errors import DataError

        cfg, store, clock = _runtime(ctx)
        try:
            if items is None:
                from agent.store import dictionaries

                with store.read() as conn:
                    local = dictionaries.local_items(conn, store.hospital_code)
                if not local:
                    raise DataError("no HIS item dictionary read yet: run the agent (its items job reads it at start), or use --items FILE")
            else:
                local = read_items(items)
            summary = map_items(store, local, clock.now(), auto_accept=cfg.catalogue.auto_accept,
                                top=cfg.catalogue.candidates, synonyms=cfg.catalogue.synonyms)
            typer.echo(summary.as_text())
            if summary.without_factor:
                typer.echo("缺少换算系数的品种（不会猜测，请在审核表中填写）：" + "、".join(summary.without_factor[:50]))
        finally:
            store.close()

    @mapping.command("export")
    def map_export(ctx: typer.Context, file: Path) -> None:
        """Write the review workbook."""
        from agent.catalogue.review import export_review

        _, store, _ = _runtime(ctx)
        try:
            n = export_review(store, file)
            typer.echo(f"已导出{n}个品种到 {file}")
        finally:
            store.close()

    @mapping.command("import")
    def map_import(ctx: typer.Context, file: Path) -> None:
        """Read reviewed decisions back."""
        from agent.catalogue.review import import_review

        _, store, clock = _runtime(ctx)
        try:
            result = import_review(store, file, clock.now())
            typer.echo(f"已应用{result['applied']}条审核结论")
            for e in result["errors"]:
                typer.echo(f"未应用：{e}", err=True)
        finally:
            store.close()

    @mapping.command("list")
    def map_list(ctx: typer.Context, group: str = typer.Option(..., "--group", help="a group: 阿托伐他汀|片 or 阿托伐他汀钙片")) -> None:
        """Who is in a generic group (通用名+剂型): every local item mapped to it, with its status."""
        from agent.catalogue.checks import group_listing
        from agent.catalogue.review import STATUS_ZH

        _, store, _ = _runtime(ctx)
        try:
            key, rows = group_listing(store, group)
        finally:
            store.close()
        if key is None:
            typer.echo(f"“{group}”不是已知的集采分组（写作 通用名|剂型 或 通用名+剂型，如 阿托伐他汀钙片）", err=True)
            raise typer.Exit(1)
        typer.echo(f"分组 {key}：{len(rows)}个品种")
        listed = []
        for r in rows:
            item = r["item"] or {}
            role = "中选" if r["product_key"] else "非中选"
            factor = "未知" if r["factor"] is None else format(r["factor"], "f").rstrip("0").rstrip(".")
            listed.append((r["item_code"], r["item_name"], item.get("spec") or "-", item.get("manufacturer") or "-",
                           STATUS_ZH.get(r["status"], r["status"]), role, r["product_key"] or "-", factor))
        echo_table(("院内编码", "院内名称", "规格", "生产企业", "状态", "中选/非中选", "中选产品", "换算系数"), listed, right={7})

    @mapping.command("check")
    def map_check(ctx: typer.Context) -> None:
        """Flag groups that look wrong: two molecules by national code, a non-winning strength no winner has,
        one national code in two groups. Exit 1 when any is found."""
        from agent.catalogue.checks import group_findings

        _, store, _ = _runtime(ctx)
        try:
            findings = group_findings(store)
        finally:
            store.close()
        if not findings:
            typer.echo("分组检查通过：未发现可疑分组。")
            return
        typer.echo(f"发现{len(findings)}处可疑分组，请在审核表中确认：")
        for f in findings:
            typer.echo(f"- {f.message}")
        raise typer.Exit(1)
