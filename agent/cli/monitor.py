"""Report commands (issue #6): the monthly 带量执行报表 and the yearly report, as xlsx.

``--fixture FILE.json`` reads a self-contained fixture (see ``agent.jobs.memory_inputs``);
without it the figures come from the store through the ``MonitoringInputs`` the composition
root builds (``agent.bootstrap.build_monitoring_inputs``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from agent.cli.common import config_of, runtime_of
from agent.errors import ConfigError

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _inputs(ctx: typer.Context, fixture: Path | None) -> tuple[Any, Any]:
    """(inputs, calendar) from the fixture, or from the store through the composition root."""
    from agent.bootstrap import build_calendar, build_monitoring_inputs

    if fixture is not None:
        from agent.jobs.memory_inputs import InMemoryInputs

        return InMemoryInputs.from_json(fixture), build_calendar(config_of(ctx))
    runtime = runtime_of(ctx)
    return build_monitoring_inputs(runtime), runtime.calendar


def register(app: typer.Typer) -> None:
    report = typer.Typer(help="the regulator's tables (带量执行报表, 年度报告)", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("monthly")
    def monthly(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="YYYY-MM"),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 带量执行报表-YYYY-MM.xlsx)"),
        fixture: Path | None = typer.Option(None, "--fixture", help="read figures from a JSON fixture"),
    ) -> None:
        """Write the monthly 带量执行报表 xlsx (with the 一院一档 sheet and a chart)."""
        if not _MONTH.match(month):
            raise ConfigError(f"--month {month!r}: use YYYY-MM, e.g. 2026-10")
        from agent.jobs.reporting import monthly_report
        from agent.reports.monthly import write_monthly

        inputs, calendar = _inputs(ctx, fixture)
        cfg = config_of(ctx)
        rep = monthly_report(inputs, calendar, month, cfg.hospital.code, cfg.hospital.name, cfg.monitoring)
        path = write_monthly(rep, out or Path(f"带量执行报表-{month}.xlsx"))
        typer.echo(f"已生成 {path}：{len(rep.programmes)} 个批次，{len(rep.products)} 个中选产品")

    @report.command("annual")
    def annual(
        ctx: typer.Context,
        year: int = typer.Option(..., "--year", min=2000, max=2100),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 年度报告-YYYY.xlsx)"),
        fixture: Path | None = typer.Option(None, "--fixture", help="read figures from a JSON fixture"),
    ) -> None:
        """Write the yearly report due 15 January (tables filled, text sections outlined)."""
        from agent.jobs.reporting import annual_report
        from agent.reports.annual import write_annual

        inputs, calendar = _inputs(ctx, fixture)
        cfg = config_of(ctx)
        rep = annual_report(inputs, calendar, year, cfg.hospital.code, cfg.hospital.name, cfg.monitoring)
        path = write_annual(rep, out or Path(f"年度报告-{year}.xlsx"))
        typer.echo(f"已生成 {path}：{len(rep.programmes)} 个批次（协议年度），{len(rep.products)} 个产品")

    @report.command("group")
    def group(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="YYYY-MM"),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 集团汇总-YYYY-MM.xlsx)"),
    ) -> None:
        """Every hospital of a shared state store side by side (集团汇总), from the figures each agent records daily."""
        if not _MONTH.match(month):
            raise ConfigError(f"--month {month!r}: use YYYY-MM, e.g. 2026-10")
        from agent.cli.common import clock_of
        from agent.jobs.group import group_month, stale
        from agent.reports.group import write_group

        runtime = runtime_of(ctx)
        today = clock_of(ctx).today()
        snaps = group_month(runtime.store, month, today)
        if not snaps:
            typer.echo(f"{month} 没有任何医院的记录：各医院的 vbp-agent 每小时记录一次当日各批次数据，"
                       "请确认它们与本机使用同一个 state.url 并已运行")
            raise typer.Exit(1)
        late = stale(snaps, month, today)
        path = write_group(month, snaps, out or Path(f"集团汇总-{month}.xlsx"), late)
        for s in snaps:
            f = s.figures
            typer.echo(f"{s.hospital_code} {s.hospital_name}｜{s.programme}｜截至 {s.day}｜完成 {f['completion']:.1%} "
                       f"序时 {f['time_progress']:.1%}｜零采购 {f['zero']} 低于序时 {f['behind']} 超量 {f['over']}")
        hospitals = len({s.hospital_code for s in snaps})
        typer.echo(f"已生成 {path}：{hospitals} 家医院，{len(snaps)} 行" + (f"；超过 2 天未更新：{'、'.join(late)}" if late else ""))
