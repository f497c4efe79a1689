"""Ingestion commands: ``check``, ``backfill``, ``quarantine list`` (issue #4).

Console tables are for pharmacy and IT staff: Chinese headers, the regulator's terms.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.common import clock_of, config_of, runtime_of
from agent.errors import AgentError, ConfigError
from agent.ports import ReceiptCursor

# The commands import the store, the sources and rich's progress bar when they run: every command
# of ``vbp-agent`` loads this module, and most never touch SQLAlchemy or a database driver.

REASONS_ZH = {
    "no item code": "缺少药品/物资编码", "negative receipt quantity": "入库数量为负", "unknown unit": "未知单位",
    "impossible date": "日期不合理", "impossible expiry": "有效期不合理", "impossible pack factor": "包装系数不合理", "undecodable text": "文字无法解码",
    "cannot convert": "数据格式错误", "no department code": "缺少科室编码", "no department name": "缺少科室名称",
}


def reason_zh(reason: str) -> str:
    """The staff-facing reason; the English original stays in the store and the logs."""
    for en, zh in REASONS_ZH.items():
        if reason.startswith(en):
            return f"{zh} ({reason})"
    return reason


def _date(text: str, key: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{key}: '{text}' is not a date like 2026-01-31") from None


def _check_one(source: Any, cfg: Any, clock: Any) -> list[str]:
    """One row of the check table: reachable, read-only, queries valid, index-served, rows/s."""
    from adapters.explain import full_scans

    try:
        source.odbc.connect()
    except AgentError as exc:
        return [cfg.name, cfg.preset, f"否: {exc}", "-", "-", "-", "-"]
    writable = source.odbc.can_write()
    ro = "未知" if writable is None else ("否 (账号可写!)" if writable else "是")
    yesterday = clock.today() - timedelta(days=1)
    problems, scans, rate = [], [], "-"
    if cfg.kind == "warehouse":
        now = source.source_now()
        values = {"since_ts": source.naive(now - timedelta(days=1)), "since_id": -1 if source.preset.line_id_is_int else "",
                  "until": source.naive(now), "limit": 1000}
        runs = {"receipts": lambda: list(source.read_receipts(ReceiptCursor(now - timedelta(days=1)), now, 1000))}
    else:
        values = {"day_from": yesterday, "day_to": yesterday, "day_to_next": clock.today()}
        runs = {"usage": lambda: list(source.read_usage(yesterday, yesterday)),
                "day_totals": lambda: list(source.day_totals(yesterday, yesterday))}
        if source.has("items"):
            runs["items"] = lambda: list(source.read_items())
        if source.has("departments"):
            runs["departments"] = lambda: list(source.read_departments())
    for name, run in runs.items():
        try:
            start = time.perf_counter()
            rows = run()
            if name in ("usage", "receipts"):
                lines = sum(getattr(r, "lines", 1) for r in rows)
                rate = f"{lines / max(time.perf_counter() - start, 1e-6):,.0f}"
            if name not in ("items", "departments"):  # dictionaries are read whole
                found = full_scans(source, name, values)
                scans.append("无法判断" if found is None else ("是" if not found else f"否: 全表扫描 {', '.join(found)}"))
        except AgentError as exc:
            problems.append(f"{name}: {exc}")
    return [cfg.name, cfg.preset, "是", ro, "有效" if not problems else "; ".join(problems),
            scans[0] if scans and all(s == scans[0] for s in scans) else "; ".join(scans) or "-", rate]


def _check_contracts(cfg: Any, sources: dict[str, Any], day: date) -> bool:
    """Each custom source's queries run on ``day`` against the contract, one line per problem (long
    lines, not a table: they are read and copied whole); True when one is wrong. HIS sources go
    first: a warehouse's units are judged against their item dictionary."""
    from adapters.contract_check import check_source

    custom = sorted((s for s in cfg.sources if s.preset == "custom"), key=lambda s: s.kind == "warehouse")
    if not custom:
        return False
    typer.echo(f"自定义查询检查（{day.isoformat()} 的数据，对照 README 的列契约）：")
    items: dict[str, Any] = {}
    failed = False
    for s in custom:
        try:
            problems, read = check_source(sources[s.name], day, items)
        except AgentError as exc:
            typer.echo(f"  {s.name}: 无法运行：{exc}")
            failed = True
            continue
        items.update(read)
        for p in problems:
            typer.echo(f"  {s.name}: {p.query}.{p.column} {'注意：' if p.warning else ''}{p.message}")
        failed = failed or any(not p.warning for p in problems)
        if not any(not p.warning for p in problems):
            typer.echo(f"  {s.name}: 全部查询符合契约")
    return failed


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(ctx: typer.Context, day: str = typer.Option(None, "--day", help="the day custom queries are run on "
                                                                              "(default yesterday)")) -> None:
        """Connect to every source and test its queries; hold a custom source's against the contract."""
        from agent.bootstrap import build_sources

        cfg, clock = config_of(ctx), clock_of(ctx)
        table = Table(title="数据源检查")
        for head in ("数据源", "预设", "可连接", "只读账号", "查询", "索引命中", "速率(行/秒)"):
            table.add_column(head)
        failed = False
        sources = build_sources(cfg.sources, clock)
        for name, source in sources.items():
            row = _check_one(source, cfg.source(name), clock)
            failed = failed or row[2] != "是" or row[4] != "有效"
            table.add_row(*row)
        console = Console(width=200)
        console.print(table)
        try:
            failed = _check_contracts(cfg, sources, _date(day, "--day") if day else clock.today() - timedelta(days=1)) or failed
        finally:
            for source in sources.values():
                source.close()
        if any("可写" in str(c) for c in table.columns[3].cells):
            console.print("[bold red]警告: 至少一个数据源账号可以写入 HIS 数据库, 请改用只读账号。[/]")
        from agent.notify.skew import clock_warnings  # the clocks of the robots and the platform (issue #25)

        for line in clock_warnings(cfg, clock.now()):
            console.print(f"[bold yellow]{line}[/]")
        if cfg.state.url or (cfg.state.directory / "state.db").exists():  # never create a store just to check
            from agent.catalogue.checks import group_findings  # 对码 groups that look wrong (issue #17)

            for finding in group_findings(runtime_of(ctx).store):
                console.print(f"[bold yellow]对码分组可疑（vbp-agent map check）：{finding.message}[/]")
        if failed:
            raise typer.Exit(1)

    @app.command("poll")
    def poll(ctx: typer.Context, source_name: str = typer.Option(None, "--source", help="one source (default every one)")) -> None:
        """Read every source once now, as the agent does at start: item dictionary and 对码, usage, receipts."""
        from agent.bootstrap import poll_once

        rt = runtime_of(ctx)
        if source_name and source_name not in {s.name for s in rt.config.sources}:
            raise ConfigError(f"--source: no source named '{source_name}'")
        for name, stats in poll_once(rt, source_name):
            if hasattr(stats, "pages"):
                typer.echo(f"{name}: 入库明细 读取{stats.read}行，新增或变更{stats.stored}，作废{stats.deleted}，隔离{stats.bad}")
            else:
                typer.echo(f"{name}: 用量 {stats.days}天，{stats.rows}组（{stats.lines}条发药明细），隔离{stats.bad}")

    @app.command("backfill")
    def backfill(
        ctx: typer.Context,
        day_from: str = typer.Option(..., "--from", help="first day, e.g. 2026-01-01"),
        day_to: str = typer.Option(None, "--to", help="last day (default yesterday)"),
        source_name: str = typer.Option(None, "--source", help="one source (default every HIS/prescription source)"),
    ) -> None:
        """Read closed days from the sources in windows, resumably."""
        from agent.bootstrap import build_sources
        from agent.jobs.backfill import backfill_usage

        rt = runtime_of(ctx)
        cfg, clock, store = rt.config, rt.clock, rt.store
        first = _date(day_from, "--from")
        last = _date(day_to, "--to") if day_to else clock.today() - timedelta(days=1)
        sources = build_sources(cfg.sources, clock)
        chosen = [s for s in cfg.sources if s.kind != "warehouse" and (source_name in (None, s.name))]
        if source_name and not chosen:
            raise ConfigError(f"--source: no HIS or prescription source named '{source_name}'")
        try:
            for s in chosen:
                bar = _ProgressBar(s.name)
                stats = backfill_usage(store, sources[s.name], clock, first, last, window_days=s.backfill_window_days,
                                       pause_s=s.backfill_pause_s, off_peak=s.off_peak_hours, pause_hours=s.pause_hours,
                                       on_progress=bar.update)
                bar.close()
                typer.echo(f"{s.name}: {stats.days} days, {stats.rows} rows, {stats.lines} source lines, "
                           f"{stats.bad} quarantined")
        finally:
            for src in sources.values():
                src.close()

    quarantine = typer.Typer(help="rows the agent refused to store", no_args_is_help=True)
    app.add_typer(quarantine, name="quarantine")

    @quarantine.command("list")
    def quarantine_list(ctx: typer.Context, source: str = typer.Option(None, "--source"),
                        limit: int = typer.Option(200, "--limit")) -> None:
        """List quarantined source rows."""
        from agent.store.quarantine import listing

        rt = runtime_of(ctx)
        cfg, store = rt.config, rt.store
        with store.read() as conn:
            rows = listing(conn, store.hospital_code, source, limit)
        table = Table(title=f"隔离数据 ({len(rows)} 条)")
        for head in ("数据源", "类型", "键", "原因", "首次发现", "最近发现", "次数"):
            table.add_column(head)
        kinds = {"usage": "用量", "receipt": "入库", "item": "药品字典", "department": "科室字典", "insurance_upload": "医保上传日志"}
        for q in rows:
            table.add_row(q.source, kinds.get(q.kind, q.kind), q.key, reason_zh(q.reason),
                          q.first_seen_at.astimezone(cfg.hospital.tz).strftime("%Y-%m-%d %H:%M"),
                          q.last_seen_at.astimezone(cfg.hospital.tz).strftime("%Y-%m-%d %H:%M"), str(q.seen))
        Console(width=200).print(table)


class _ProgressBar:
    """Days, rows, rate and ETA on stderr."""

    def __init__(self, name: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn(f"{name} 补录"), BarColumn(), MofNCompleteColumn(), TextColumn("天"),
                                 TextColumn("{task.fields[rows]} 行 {task.fields[rate]} 行/秒"), TimeRemainingColumn(),
                                 console=Console(file=sys.stderr), transient=False)
        self.task = None
        self.start = time.perf_counter()
        self.first_rows = 0

    def update(self, p: Any) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("", total=p.days_total, completed=p.days_done, rows=p.rows, rate="-")
            self.first_rows = p.rows
            if p.resumed_from:
                self.progress.console.print(f"resuming from {p.resumed_from.isoformat()}")
            return
        rate = (p.rows - self.first_rows) / max(time.perf_counter() - self.start, 1e-6)
        self.progress.update(self.task, completed=p.days_done, rows=p.rows, rate=f"{rate:,.0f}")

    def close(self) -> None:
        self.progress.stop()
