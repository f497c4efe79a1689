"""Report commands (issue #6): the monthly 带量执行报表 and the yearly report, as xlsx; and
``evaluate``, every monitoring rule as of a day, printed and never stored (issue #18).

``--as-of DATE`` counts a report to that day (default today: a month still running is counted to
today, with today's 序时进度); a day after today is refused.

``--fixture FILE.json`` reads a self-contained fixture (see ``agent.jobs.memory_inputs``);
without it the figures come from the store through the ``MonitoringInputs`` the composition
root builds (``agent.bootstrap.build_monitoring_inputs``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from agent.cli.common import clock_of, config_of, existing_runtime, parse_day, runtime_of
from agent.cli.table import echo_table, table
from agent.domain.reporting import MONTH as _MONTH
from agent.errors import ConfigError


def _inputs(ctx: typer.Context, fixture: Path | None) -> tuple[Any, Any]:
    """(inputs, calendar) from the fixture, or from the store through the composition root."""
    from agent.bootstrap import build_calendar, build_monitoring_inputs

    if fixture is not None:
        from agent.jobs.memory_inputs import InMemoryInputs

        return InMemoryInputs.from_json(fixture), build_calendar(config_of(ctx))
    runtime = runtime_of(ctx)
    return build_monitoring_inputs(runtime), runtime.calendar


AS_OF_HELP = "count to this day, YYYY-MM-DD (default today)"


def as_of_day(ctx: typer.Context, text: str | None) -> date:
    """``--as-of``: the day given, else today in the hospital's zone; never after today."""
    today = clock_of(ctx).now().date()
    day = parse_day(text, "--as-of") or today
    if day > today:
        raise typer.BadParameter(f"{day.isoformat()} is after today ({today.isoformat()})", param_hint="--as-of")
    return day


def register(app: typer.Typer) -> None:
    report = typer.Typer(help="the regulator's tables (带量执行报表, 年度报告)", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("monthly")
    def monthly(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="YYYY-MM"),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 带量执行报表-YYYY-MM.xlsx)"),
        fixture: Path | None = typer.Option(None, "--fixture", help="read figures from a JSON fixture"),
        as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    ) -> None:
        """Write the monthly 带量执行报表 xlsx (with the 一院一档 sheet and a chart), counted to the
        month's last day, or to today (or --as-of) while the month runs."""
        if not _MONTH.match(month):
            raise ConfigError(f"--month {month!r}: use YYYY-MM, e.g. 2026-10")
        from agent.jobs.reporting import monthly_report
        from agent.reports.monthly import write_monthly

        day = as_of_day(ctx, as_of)
        inputs, calendar = _inputs(ctx, fixture)
        cfg = config_of(ctx)
        rep = monthly_report(inputs, calendar, month, cfg.hospital.code, cfg.hospital.name, cfg.monitoring, day)
        if fixture is None:  # the store's own tables: 科室分配, 医保进销存上传
            from agent.jobs.departments import with_departments
            from agent.jobs.uploads import with_uploads

            runtime = runtime_of(ctx)
            rep = with_departments(rep, inputs, runtime.store)
            rep = with_uploads(rep, runtime.store, runtime.clock, cfg.monitoring.uploads.rules())
        path = write_monthly(rep, out or Path(f"带量执行报表-{month}.xlsx"))
        typer.echo(f"已生成 {path}：{len(rep.programmes)} 个批次，{len(rep.products)} 个中选产品，统计截至 {rep.as_of}")

    @report.command("annual")
    def annual(
        ctx: typer.Context,
        year: int = typer.Option(..., "--year", min=2000, max=2100),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 年度报告-YYYY.xlsx)"),
        fixture: Path | None = typer.Option(None, "--fixture", help="read figures from a JSON fixture"),
        as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
        mark_sent: bool = typer.Option(False, "--mark-sent", help="record that the report was sent (stops the reminders)"),
        by: str | None = typer.Option(None, "--by", help="with --mark-sent: who sent it"),
    ) -> None:
        """Write the yearly report due 15 January (tables filled, text sections outlined), counted
        to 31 December, or to today (or --as-of) while the year runs; with --mark-sent, record
        instead that it was sent, which ends the daemon's reminders."""
        if mark_sent:
            from agent.jobs.annual import mark_sent as record_sent

            if not by or not by.strip():
                raise ConfigError("--mark-sent needs --by NAME: who sent the report")
            runtime = runtime_of(ctx)
            record_sent(runtime.store, runtime.clock, year, by.strip())
            typer.echo(f"已记录：{year}年度报告由 {by.strip()} 于 {runtime.clock.today().isoformat()} 报送，提醒停止")
            return
        from agent.jobs.reporting import annual_report
        from agent.reports.annual import write_annual

        day = as_of_day(ctx, as_of)
        inputs, calendar = _inputs(ctx, fixture)
        cfg = config_of(ctx)
        found = [] if fixture else _clock_findings(ctx, year)
        rep = annual_report(inputs, calendar, year, cfg.hospital.code, cfg.hospital.name, cfg.monitoring, found,
                            as_of=day)
        path = write_annual(rep, out or Path(f"年度报告-{year}.xlsx"))
        typer.echo(f"已生成 {path}：{len(rep.programmes)} 个批次（协议年度），{len(rep.products)} 个产品")

    @report.command("clues")
    def clues(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="YYYY-MM"),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 短缺违约线索-YYYY-MM.xlsx); the .txt draft goes beside it"),
    ) -> None:
        """Write the month's shortage and misconduct clues (短缺 / 违约线索) per supplier as xlsx, with
        a plain-text draft to paste, and the internal prescriber sheet (内部, never sent upstream)."""
        if not _MONTH.match(month):
            raise ConfigError(f"--month {month!r}: use YYYY-MM, e.g. 2026-10")
        from agent.jobs.clues import clue_report
        from agent.reports.clues import write_clues

        runtime = runtime_of(ctx)
        rep = clue_report(runtime.store, runtime.clock, month, config_of(ctx).hospital.name)
        path, text = write_clues(rep, out or Path(f"短缺违约线索-{month}.xlsx"))
        typer.echo(f"已生成 {path} 和 {text}：{len(rep.by_supplier())} 家企业 {len(rep.clues)} 条线索；"
                   f"内部处方集中 {len(rep.internal)} 条（不上报）")

    @report.command("group")
    def group(
        ctx: typer.Context,
        month: str = typer.Option(..., "--month", help="YYYY-MM"),
        out: Path | None = typer.Option(None, "--out", help="xlsx path (default 集团汇总-YYYY-MM.xlsx)"),
    ) -> None:
        """Every hospital of a shared state store side by side (集团汇总), from the figures each agent records daily."""
        if not _MONTH.match(month):
            raise ConfigError(f"--month {month!r}: use YYYY-MM, e.g. 2026-10")
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
        echo_table(("医院编码", "医院名称", "批次", "截至", "完成进度", "序时进度", "零采购", "低于序时", "超量"),
                   [(s.hospital_code, s.hospital_name, s.programme, s.day, f"{s.figures['completion']:.1%}",
                     f"{s.figures['time_progress']:.1%}", s.figures["zero"], s.figures["behind"], s.figures["over"]) for s in snaps],
                   right={4, 5, 6, 7, 8})
        hospitals = len({s.hospital_code for s in snaps})
        typer.echo(f"已生成 {path}：{hospitals} 家医院，{len(snaps)} 行" + (f"；超过 2 天未更新：{'、'.join(late)}" if late else ""))

    @app.command("evaluate")
    def evaluate_cmd(ctx: typer.Context, as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP)) -> None:
        """Print the progress table, 网采率 and every monitoring finding as of a day (default now);
        changes nothing in the store (the daemon's evaluation job is what stores findings)."""
        from agent.bootstrap import build_monitoring_inputs

        day = as_of_day(ctx, as_of)
        rt = existing_runtime(ctx)
        typer.echo(render_evaluation(rt, build_monitoring_inputs(rt), day))


PROGRESS_HEADINGS = ("批次", "产品", "约定量", "已使用", "完成进度", "序时进度", "按验收", "状态")


def progress_table(progress: list[Any]) -> list[str]:
    """One line per product-year (``ProductProgress``): agreed, used, completion against 序时进度 (and
    by acceptance), status."""
    if not progress:
        return ["  （无执行中的协议年度）"]
    rows = [(p.product.programme, p.product.name, f"{p.product.agreed_qty:,.0f}", f"{p.used:,.0f}", f"{p.completion:.1%}",
             f"{p.time_progress:.1%}", f"{p.accepted_completion:.1%}" if p.accepted_completion is not None else "-", p.status)
            for p in progress]
    return table(PROGRESS_HEADINGS, rows, right={2, 3, 4, 5, 6}, limits={0: 24, 1: 24}, indent="  ")


def render_evaluation(rt: Any, inputs: Any, day: date | None) -> str:
    """``vbp-agent evaluate``: the progress table, 网采率 and every finding as of the day."""
    from agent.service.evaluation import assess_day, counts_line, findings_lines, online_rate_block

    a = assess_day(rt, inputs, day)
    as_of = a.now.date()
    lines = [f"医院 {rt.config.hospital.code} {rt.config.hospital.name}　统计截至 {as_of.isoformat()}"
             f"（{a.now:%H:%M}；只读计算，状态库未改动）", "", "协议进度：", *progress_table(a.progress), "",
             *online_rate_block(inputs, rt, as_of), "", f"发现：{counts_line(a.found)}", *findings_lines(a.found)]
    return "\n".join(lines)


def _clock_findings(ctx: typer.Context, year: int) -> list:  # type: ignore[type-arg]
    """The year's findings of every clock (时限与合规), active or resolved, from the state store."""
    from datetime import datetime

    from agent.domain.deadlines import CLOCK_NAMES
    from agent.store.findings import findings_between

    rt = runtime_of(ctx)
    tz = rt.clock.tz
    with rt.store.read() as conn:
        return findings_between(conn, rt.store.hospital_code, CLOCK_NAMES, datetime(year, 1, 1, tzinfo=tz),
                                datetime(year + 1, 1, 1, tzinfo=tz))
