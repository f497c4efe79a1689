"""高值/低值 of the consumables (医用耗材), for the 80% 网采率 line: list with reasons, and decide."""

from __future__ import annotations

import typer

from agent.cli.common import runtime_of


def register(app: typer.Typer) -> None:
    cons = typer.Typer(help="consumables (医用耗材): 高值/低值 for the 80% 网采率 line", no_args_is_help=True)
    app.add_typer(cons, name="consumables")

    @cons.command("list")
    def cons_list(
        ctx: typer.Context,
        value: str = typer.Option("", "--value", help="only high | low | unknown"),
    ) -> None:
        """Every consumable of the dictionaries: 高值/低值/未定, and why (class, price or a decision)."""
        from agent.catalogue.consumables import consumable_values, value_rule
        from agent.domain.consumables import VALUE_NAMES

        rt = runtime_of(ctx)
        rows = [r for r in consumable_values(rt.store, value_rule(rt.config.catalogue)) if not value or r.value.value == value]
        if not rows:
            typer.echo("没有符合条件的耗材")
        for r in rows:
            price = "-" if r.price is None else format(r.price.normalize(), "f")
            typer.echo(f"{r.item_code}\t{r.name}\t{r.national_code or '-'}\t{price}\t{VALUE_NAMES[r.value.value]}\t{r.value.reason}")

    @cons.command("set")
    def cons_set(
        ctx: typer.Context,
        items: list[str] = typer.Argument(..., help="local item codes (物资编码)"),
        value: str = typer.Option(..., "--value", help="high | low | auto (withdraw: the class and price decide again)"),
        by: str = typer.Option(..., "--by", help="who decides (药学部/设备科人员姓名)"),
        note: str = typer.Option("", "--note", help="why"),
    ) -> None:
        """Decide 高值 or 低值 for items the class and price put on the wrong side."""
        from agent.catalogue.consumables import set_value

        rt = runtime_of(ctx)
        for code in items:
            set_value(rt.store, code, value, by, rt.clock.now(), note or None)
        typer.echo(f"已将 {len(items)} 个耗材设为{ {'high': '高值', 'low': '低值'}.get(value, '按规则判定') }")
