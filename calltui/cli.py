"""The ``calltui`` command line: a thin click layer over the headless core."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Task as ProgressTask
from rich.table import Table
from rich.text import Text
from sqlite_utils import Database

from calltui import reports, store
from calltui.config import Config, ConfigError, load_config
from calltui.importer import FileRefused, FileStopped, import_file
from calltui.match import MatchSummary, run_match
from calltui.models import Flag, MatchOptions, Status, window_problem
from calltui.sf.keychain import SECRET_NAMES
from calltui.sources.files import KINDS, expand_inputs
from calltui.tables import Col, fit_table, print_fitted

__all__ = ["cli", "main"]

err = Console(stderr=True, highlight=False)


class Context:
    """What every command gets: where the database is and the config."""

    def __init__(self, db_path: Path, config: Config) -> None:
        self.db_path = db_path
        self.config = config
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            try:
                self._db = store.open_db(self.db_path)
            except store.StoreError as exc:
                fail(str(exc))
        return self._db

    @property
    def opened(self) -> bool:
        """Whether this command has opened (and so perhaps created) the database."""
        return self._db is not None

    def discard(self, new_folders: Sequence[Path] = ()) -> None:
        """Close and delete the database this command created (it holds nothing), and the
        folders made for it (``new_folders``, innermost first) when they are empty."""
        if self._db is not None:
            self._db.close()
            self._db = None
        for suffix in ("", "-wal", "-shm", store.SYNC_LOCK_SUFFIX):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        for folder in new_folders:
            with suppress(OSError):
                folder.rmdir()

    def missing_folders(self) -> list[Path]:
        """The database's folders that do not exist yet, innermost first."""
        return [p for p in self.db_path.absolute().parents if not p.exists()]

    @property
    def existing_db(self) -> Database:
        """The database for commands that only read: a mistyped --db must not create one."""
        if not self.db_path.exists():
            demo = self.db_path.with_name("demo.db")
            if self.db_path == store.default_db_path() and demo.exists():
                fail(f"no database at {self.db_path}: the demo's is {demo}; pass "
                     f"--db {demo} (or set CALLTUI_DB), or run `calltui import FILE...` "
                     "or `calltui sync` to start your own")
            fail(f"no database at {self.db_path}: run `calltui demo`, `calltui import FILE...` "
                 "or `calltui sync` first, or pass --db")
        if self.db_path.is_file() and self.db_path.stat().st_size == 0:
            fail(f"{self.db_path} is an empty file, not a calltui database: run `calltui "
                 "import FILE...` or `calltui sync` to fill it, or pass another --db")
        return self.db


pass_ctx = click.make_pass_decorator(Context)

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
                      default="table", show_default=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr and a non-zero exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


# The app's screens (calltui.tui.app.SCREEN_NAMES, which the CLI does not import).
APP_SCREENS = ("overview", "missing", "unmatched-calls", "unmatched-sessions", "touchpoints",
               "log", "channels", "calls")


class _Root(click.Group):
    """The root group: Ctrl-C anywhere is one line and exit 130 (click says 'Aborted!' and
    exits 1), and ``--db`` or ``--config`` given after the command says where it goes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except click.NoSuchOption as exc:
            if exc.option_name in ("--db", "--config") and exc.ctx is not None:
                command = " ".join(exc.ctx.command_path.split()[1:])
                value = "PATH" if exc.option_name == "--db" else "FILE"
                raise click.UsageError(f"{exc.option_name} goes before the command: calltui "
                                       f"{exc.option_name} {value} {command} ...",
                                       ctx=exc.ctx) from None
            raise


@click.group(cls=_Root, invoke_without_command=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="CALLTUI_DB", help="SQLite database (default: user data dir; CALLTUI_DB).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML config file (default: user config dir).")
@click.option("--screen", type=click.Choice(APP_SCREENS),
              help="With no command: open the app on this screen (as `calltui tui --screen`).")
@click.version_option(package_name="calltui")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, config_path: Path | None,
        screen: str | None) -> None:
    """See why call-tracking Tasks did or did not become Marketo Measure touchpoints."""
    if screen and ctx.invoked_subcommand is not None:
        fail(f"--screen is for the app: calltui --screen {screen}, with no command", 2)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        fail(str(exc), 2)
    ctx.obj = Context(db_path or store.default_db_path(), config)
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui, screen=screen or "overview")


@cli.command()
@click.option("--screen", default="overview", show_default=True,
              type=click.Choice(APP_SCREENS), help="Open this screen first.")
@pass_ctx
def tui(ctx: Context, screen: str) -> None:
    """Open the app (the default when no command is given).

    Example: calltui tui --screen unmatched-calls
    """
    from calltui.tui.app import run_app

    db = ctx.existing_db  # a mistyped --db is refused, not created empty
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("the app needs a terminal; without one use `calltui report calls` or "
             "`calltui --help`")
    db.close()  # migrate (or refuse) before the app opens it per thread
    run_app(ctx.db_path, ctx.config, screen)


class _Amount(ProgressColumn):
    """How far: bytes for a file being read, else a count with the task's ``unit`` field
    ('150,000/293,933 Tasks'; a Bulk read shown as kB misled)."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: ProgressTask) -> Text:
        unit = task.fields.get("unit", "bytes")
        if unit == "bytes":
            return self._bytes.render(task)
        total = "?" if task.total is None else f"{int(task.total):,}"
        return Text(f"{int(task.completed):,}/{total} {unit}", style="progress.download")


def _progress(console: Console) -> Progress:
    """A progress bar on ``console``'s terminal; give each task a ``unit`` (default bytes)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), _Amount(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )


def _tz(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--source-tz: unknown time zone {name!r} (use an IANA name like Europe/Rome)", 2)


@cli.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=True))
@click.option("--kind", type=click.Choice(KINDS), help="Skip sniffing: read every file as KIND.")
@click.option("--source-tz", default="UTC", show_default=True,
              help="Time zone of timestamps without an offset (warehouse exports are UTC); "
                   "a local time skipped or repeated by a DST change is a rejected row.")
@click.option("--no-match", is_flag=True, help="Do not re-run the match after importing.")
@pass_ctx
def import_(ctx: Context, files: tuple[Path, ...], kind: str | None, source_tz: str,
            no_match: bool) -> None:
    """Import Task and warehouse files (JSON, CSV, CSV.gz, JSON lines); upserts by ID.

    A folder imports every file in it, a quoted pattern every file it matches (sorted;
    hidden files skipped). Interrupted? Run the same command again.

    Example: calltui import tasks.json BIZ_SESSIONS.csv.gz 'exports/*.csv.gz'
    """
    tz = _tz(source_tz)
    new_db, new_folders = not ctx.db_path.exists(), ctx.missing_folders()
    paths, notes, refused = expand_inputs(files)
    for note in notes:
        click.echo(note, err=True)
    imported: list[list[str]] = []
    rejected = 0
    with _progress(err) as progress:
        for path in paths:
            bar = progress.add_task(path.name, total=None)

            def advance(done: int, total: int, bar: Any = bar) -> None:
                progress.update(bar, completed=done, total=total)

            try:
                r = import_file(ctx.db, path, kind, naive_tz=tz,
                                fields=ctx.config.task_fields, on_progress=advance)
            except FileStopped as exc:  # the rows before the stop are stored: shown, matched
                refused.append(str(exc))
                r = exc.result
            except FileRefused as exc:
                refused.append(str(exc))
                continue
            except KeyboardInterrupt:
                progress.stop()
                fail(_import_interrupted(ctx.db, len(imported)), 130)
            finally:
                progress.remove_task(bar)
            imported.append([r.kind, str(r.read), str(r.stored), str(r.rejected), r.file])
            rejected += r.rejected
    if imported:
        _print_imported(imported)
    if rejected:
        err.print("Rejected rows are kept with file, line and reason: "
                  "`calltui report rejects`, or the Sync & import log in the app.")
    if imported and not no_match:
        try:
            summary = run_match(ctx.db, ctx.config.match, ctx.config.vendor_rules)
        except KeyboardInterrupt:
            fail("interrupted during the match: the imported rows are kept; run "
                 "`calltui match` to finish it", 130)
        Console(highlight=False).print(_summary_table(summary, store.counts_by_flag(ctx.db)))
    if new_db and not imported and ctx.opened and store.is_empty(ctx.db, "rejects"):
        ctx.discard(new_folders)  # all refused, nothing kept: leave no empty database
    elif new_db and ctx.opened:  # say where the data went: a mistyped --db is seen at once
        click.echo(f"New database: {ctx.db_path}"
                   + (f" (in {new_folders[0]}, a new folder)" if new_folders else ""), err=True)
    for message in refused:
        click.echo(f"error: {message}", err=True)
    if refused:
        sys.exit(1)


IMPORT_SHOWN = (Col("kind"), Col("rows", justify="right"), Col("stored", justify="right"),
                Col("rejected", justify="right"), Col("file", "wrap"))
IMPORT_KEEP = ("kind", "file", "rejected", "stored")  # the file folded, never cut: its name
# is at the end


def _print_imported(rows: list[list[str]]) -> None:
    console = _wide_console()
    print_fitted(console, fit_table(IMPORT_SHOWN, rows, console.width, title="Import",
                                    keep=IMPORT_KEEP), err,
                 "widen the terminal to see them")


_ROWS_OF = {"tasks": "Tasks", "sessions": "sessions", "page-views": "page views",
            "form-submits": "form submits"}


def _import_interrupted(db: Database, files_done: int) -> str:
    """What an import stopped by Ctrl-C kept, from its import log row (committed counts)."""
    row = store.last_import(db) or {}
    done = f"{files_done:,} file{'' if files_done == 1 else 's'} before it imported whole; "
    if row.get("kind") == "tasks":
        kept = "a Task file is stored whole or not at all, so none of its Tasks are kept"
    else:
        what = _ROWS_OF.get(str(row.get("kind")), "rows")
        kept = (f"{row.get('rows_stored', 0):,} {what} stored and "
                f"{row.get('rows_rejected', 0):,} rejected rows are kept")
    return (f"interrupted while importing {row.get('file')}: {done if files_done else ''}"
            f"{kept}; rows are upserted by ID, so run the same import again to finish it")


def _summary_table(summary: MatchSummary, flags: dict[str, int]) -> Table:
    how = (f"{summary.recomputed} recomputed" if summary.mode == "incremental"
           else "all recomputed")
    table = Table("status", "calls", title=f"{summary.calls} calls ({how})")
    for status in Status:
        table.add_row(status.value, str(summary.by_status.get(status.value, 0)))
    for flag in Flag:
        table.add_row(f"[dim]flag[/] {flag.value}", str(flags.get(flag.value, 0)))
    return table


def _window_minutes(_ctx: click.Context, _param: click.Parameter,
                    value: float | None) -> float | None:
    problem = None if value is None else window_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value


@cli.command()
@click.option("--window-minutes", type=float, callback=_window_minutes,
              help="Merge window in minutes, at most a week (default: config [match], "
              "else 30).")
@click.option("--anchor", type=click.Choice(["start", "activity"]),
              help="Measure the window from the session start or its last activity.")
@click.option("--what-if", is_flag=True,
              help="Only show which calls would change status; write nothing.")
@click.option("--in-warehouse", is_flag=True,
              help="Run the window rule inside Snowflake (config [warehouse]); store the outcomes.")
@click.option("--full", is_flag=True,
              help="Recompute every call, not only those touched since the last match.")
@FORMAT
@pass_ctx
def match(ctx: Context, window_minutes: float | None, anchor: str | None, what_if: bool,
          fmt: str, in_warehouse: bool, full: bool) -> None:
    """Replay Marketo Measure's call/session merge rule over everything stored.

    Only calls and people touched since the last match are recomputed, unless the
    options changed or --full is given; the outcomes are the same either way.

    Example: calltui match --what-if --window-minutes 45
    """
    options = ctx.config.match
    if window_minutes is not None:
        options = dataclasses.replace(options, window_minutes=window_minutes)
    if anchor == "start":
        options = dataclasses.replace(options, anchor="start")
    elif anchor == "activity":
        options = dataclasses.replace(options, anchor="activity")
    if options.anchor == "activity" and not in_warehouse and _no_activity(ctx.existing_db):
        err.print("No page views or form submits are stored, so a session's last activity "
                  "is its start: --anchor activity gives what start gives. Import "
                  "BIZ_PAGE_VIEWS or BIZ_FORM_SUBMITS exports for it.", markup=False)
    if what_if:
        if in_warehouse:
            fail("--what-if runs locally; drop --in-warehouse", 2)
        _print_what_if(ctx.existing_db, options, fmt)
        return
    summary = (_match_in_warehouse(ctx, options) if in_warehouse
               else run_match(ctx.existing_db, options, ctx.config.vendor_rules, full=full))
    Console(highlight=False).print(_summary_table(summary, store.counts_by_flag(ctx.db)))


def _no_activity(db: Database) -> bool:
    return store.is_empty(db, "page_views") and store.is_empty(db, "form_submits")


def _print_what_if(db: Database, options: MatchOptions, fmt: str) -> None:
    from calltui.match import what_if

    changes = what_if(db, options)
    rows = [dataclasses.asdict(c) for c in changes]
    columns = ("task_id", "call_at", "before", "after")
    shown = tuple(Col(c) for c in columns)
    if fmt != "table":
        _emit(fmt, iter(rows), columns, shown, "")
        return
    moves: dict[tuple[str | None, str], int] = {}
    for c in changes:
        moves[(c.before, c.after)] = moves.get((c.before, c.after), 0) + 1
    console = Console(highlight=False)
    console.print(f"What if: {options.window_minutes:g}-minute window from the session "
                  f"{options.anchor} — {len(changes)} call(s) would change; nothing written")
    table = Table("from", "to", "calls")
    for (before, after), n in sorted(moves.items(), key=lambda kv: -kv[1]):
        table.add_row(before or "(not matched yet)", after, str(n))
    console.print(table)
    if changes:
        _emit("table", iter(rows), columns, shown, "Calls that would change")


TABLE_ROWS = 1000


def _emit(
    fmt: str, rows: Iterator[dict[str, Any]], columns: tuple[str, ...], shown: Sequence[Col],
    title: str, keep: Sequence[str] = (),
) -> None:
    """JSON and CSV carry every column; the table shows ``shown`` for the first rows, as
    many of them as fit (``keep``: which stay first, see ``tables.fit_table``)."""
    out = sys.stdout
    if fmt == "json":
        reports.to_json(rows, out)
        return
    if fmt == "csv":
        reports.to_csv(rows, columns, out)
        return
    cells: list[list[str]] = []
    more = 0
    for row in rows:
        if len(cells) < TABLE_ROWS:
            cells.append([_cell(row[c.name]) for c in shown])
        else:
            more += 1
    if not cells:
        err.print(f"{title}: none.")  # an empty table's header alone reads as a failure
        return
    console = _wide_console()
    print_fitted(console, fit_table(shown, cells, console.width, title=title, keep=keep), err)
    if more:
        err.print(f"{more} more rows: use --format csv or json for all of them")


def _wide_console() -> Console:
    """Rich's console; into a file or a pipe (where Rich would assume 80 columns and fold
    every cell) as wide as the table needs, up to PIPE_WIDTH, unless COLUMNS says."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


PIPE_WIDTH = 200


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)



@cli.group()
def report() -> None:
    """Reports of calls, touchpoints, rejected rows or syncs as a table, CSV or JSON."""


@report.command("calls")
@FORMAT
@click.option("--status", "statuses", multiple=True, type=click.Choice([s.value for s in Status]),
              help="Only calls with this status (repeatable: any of them).")
@click.option("--flag", "flags", multiple=True, type=click.Choice([f.value for f in Flag]),
              help="Only calls with this flag (repeatable: any of them).")
@click.option("--vendor", metavar="NAME", help="Only calls of this call-tracking vendor.")
@pass_ctx
def report_calls(ctx: Context, fmt: str, statuses: tuple[str, ...], flags: tuple[str, ...],
                 vendor: str | None) -> None:
    """Every call's status, flags and compared session.

    Example: calltui report calls --status outside_window --format csv
    """
    _require_match(ctx.existing_db)
    if vendor is not None:
        from calltui.cli_actions import resolve_vendor

        vendor = resolve_vendor(ctx, ctx.db, vendor)
    rows = reports.call_report_rows(ctx.db, list(statuses) or None, list(flags) or None,
                                    vendor)
    _emit(fmt, rows, store.CALL_REPORT_COLUMNS, CALLS_SHOWN, "Calls", CALLS_KEEP)


CALLS_SHOWN = (Col("task_id"), Col("call_at"), Col("status"), Col("flags", "words"),
               Col("gap_seconds", justify="right"), Col("touchpoint_type", "words"),
               Col("channel", "words"))
CALLS_KEEP = ("task_id", "status", "flags", "call_at", "gap_seconds")  # what a narrow
# terminal shows first: why the call did not merge; type and channel follow


@report.command("touchpoints")
@FORMAT
@pass_ctx
def report_touchpoints(ctx: Context, fmt: str) -> None:
    """The touchpoints calls make, with positions and U-shaped credit."""
    _require_match(ctx.existing_db)
    _emit(fmt, reports.touchpoint_rows(ctx.db), store.TOUCHPOINT_COLUMNS, TOUCHPOINTS_SHOWN,
          "Touchpoints", TOUCHPOINTS_KEEP)


TOUCHPOINTS_SHOWN = (Col("touchpoint_id", "wrap", least=23), Col("kind"),
                     Col("person_key", "wrap"),
                     Col("touchpoint_date"), Col("touchpoint_type", "words"),
                     Col("channel", "words"), Col("position"),
                     Col("u_shaped_credit", justify="right"))
TOUCHPOINTS_KEEP = ("touchpoint_id", "person_key", "position", "u_shaped_credit", "kind",
                    "touchpoint_type", "channel")
# a call's touchpoint_id (call- and its Task ID, 23) stays on one line; its prefix says the
# kind, so kind may go first; the date goes last, as the rows are in date order


@report.command("rejects")
@FORMAT
@click.option("--file", "file", help="Only rows rejected from this file (as imported).")
@pass_ctx
def report_rejects(ctx: Context, fmt: str, file: str | None) -> None:
    """Rows that could not be stored, with file, line, column and reason.

    Example: calltui report rejects --format csv > rejects.csv
    """
    rows = reports.reject_rows(ctx.existing_db, file)
    columns = ("file", "line", "kind", "column", "reason")
    shown = (Col("file", "wrap"), Col("line", justify="right"), Col("kind"),
             Col("column", "wrap"), Col("reason", "wrap"))
    _emit(fmt, rows, columns, shown, "Rejected rows", ("file", "line", "reason", "column"))


SYNC_LOG_COLUMNS = ("id", "started_at", "finished_at", "mode", "status", "window_start",
                    "window_end", "rows_upserted", "rows_deleted", "rows_rejected",
                    "api_calls", "usage_before", "usage_after", "error")


@report.command("syncs")
@FORMAT
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many of the latest runs.")
@pass_ctx
def report_syncs(ctx: Context, fmt: str, limit: int) -> None:
    """The sync log, newest first: mode, window, rows, API calls and usage, error.

    Example: calltui report syncs --limit 5
    """
    rows = iter(store.recent_syncs(ctx.existing_db, limit))
    _emit(fmt, rows, SYNC_LOG_COLUMNS, SYNC_LOG_SHOWN, "Sync log", SYNC_LOG_KEEP)


SYNC_LOG_SHOWN = (Col("id", justify="right"), Col("started_at"), Col("mode"), Col("status"),
                  Col("window_start"), Col("window_end"), Col("rows_upserted", justify="right"),
                  Col("rows_deleted", justify="right"), Col("api_calls", justify="right"),
                  Col("usage_before"), Col("usage_after"), Col("error", "wrap"))
SYNC_LOG_KEEP = ("started_at", "status", "mode", "rows_upserted", "error", "rows_deleted",
                 "api_calls", "usage_after", "window_end", "window_start")


def _require_match(db: Database) -> None:
    if store.last_match(db) is not None:
        return
    if store.is_empty(db, "tasks"):
        fail("nothing matched yet: no call Tasks here; run `calltui sync` or `calltui import "
             "FILE...` first (both match what they store)")
    fail("nothing matched yet: the Tasks stored here were not matched (an import with "
         "--no-match, or a sync or import that stopped first); run `calltui match`")


@cli.command()
@click.argument("task_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@pass_ctx
def explain(ctx: Context, task_id: str, fmt: str) -> None:
    """Why one call did or did not merge with a web session, and what to do."""
    _require_match(ctx.existing_db)
    doc = reports.explain_document(ctx.db, task_id.strip())
    if doc is None:
        fail(f"no call Task {task_id!r} in {ctx.db_path} (is it a call, and was it imported?)")
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    _print_explanation(doc, store.last_match(ctx.db))


TIMELINE_ROWS = 12


def _print_timeline(console: Console, task_id: str, ev: dict[str, Any]) -> None:
    """The cookie's sessions and calls in time order, around this call."""
    from calltui.explain import human_gap
    from calltui.normalize import parse_ts

    at = parse_ts(ev["call_at"])
    events = [(s["started_at"], "session", s["id"], s["channel"] or "",
               " (deleted)" if s["is_deleted"] else "") for s in ev["cookie_sessions"]]
    events += [(c["call_at"], "call", c["id"], c["status"] or "",
                " <- this call" if c["id"] == task_id else "") for c in ev["cookie_calls"]]
    events.sort()
    here = next((i for i, e in enumerate(events) if e[2] == task_id), 0)
    start = max(0, min(here - TIMELINE_ROWS // 2, len(events) - TIMELINE_ROWS))
    shown = events[start : start + TIMELINE_ROWS]
    console.print(f"cookie    {len(ev['cookie_sessions'])} session(s), "
                  f"{len(ev['cookie_calls'])} call(s):")
    for when, what, ident, detail, note in shown:
        seconds = (parse_ts(when) - at).total_seconds()
        gap = "" if what == "call" and ident == task_id else (
            f"{human_gap(abs(seconds))} {'after' if seconds > 0 else 'before'}")
        console.print(f"  {when}  {what:<7} {ident}  {detail}{note}  {gap}".rstrip())
    if len(events) > len(shown):
        console.print(f"  ({len(events) - len(shown)} more: --format json, or the app)")


def _print_explanation(doc: dict[str, Any], run: dict[str, Any] | None) -> None:
    from calltui.explain import human_gap

    console = _wide_console()  # into a pipe: a paragraph to a line, not folded at 80
    ev = doc["evidence"]
    flags = ", ".join(doc["flags"]) or "no flags"
    console.print(f"[bold]{doc['task_id']}[/]  [bold]{doc['status']}[/]  ({flags})")
    console.print(f"call at   {ev['call_at']}  (from {ev['call_at_field']})")
    raw = ev["bizible_id_raw"]
    console.print(f"BizibleId {ev['bizible_id'] or '(none)'}"
                  + (f"  (as written: {raw!r})" if raw is not None and raw != ev["bizible_id"]
                     else ""))
    for label, key, word in (("session before", "nearest_before", "before"),
                             ("session after ", "nearest_after", "after")):
        near = ev[key]
        if near:
            console.print(f"{label}  {near['session_id']} started {near['started_at']} "
                          f"({human_gap(abs(near['gap_seconds']))} {word} the call)")
    if ev["bizible_id"]:
        _print_timeline(console, doc["task_id"], ev)
    if run:
        console.print(f"[dim]matched at {run['finished_at']}, with a {run['window_minutes']:g}-"
                      f"minute window from the session {run['anchor']}[/]")
    console.print()
    console.print(doc["explanation"])


def _client(ctx: Context, log_failure: bool = False) -> Any:
    """Log in with the environment's credentials; one-line errors, never a secret."""
    from calltui.sf.auth import AuthError, credentials_from_env
    from calltui.sf.client import SalesforceClient
    from calltui.sf.keychain import with_keyring

    try:
        env = with_keyring(os.environ)
        creds = credentials_from_env(env, ctx.config.salesforce)
        if creds.unused:
            err.print(f"note: {creds.unused}; logging in with {creds.mode.replace('_', ' ')}",
                      markup=False)
        return SalesforceClient(creds)
    except AuthError as exc:
        if log_failure:
            store.log_failed_sync(ctx.db, "login", str(exc))
        fail(str(exc))
    except KeyboardInterrupt:
        if log_failure:
            store.log_failed_sync(ctx.db, "login", "interrupted (Ctrl-C) while logging in",
                                  status="interrupted")
        fail("interrupted while logging in: nothing was read", 130)


def _warehouse_settings(ctx: Context) -> Any:
    from calltui.warehouse.settings import WarehouseError, settings_from

    try:
        return settings_from(ctx.config.warehouse)
    except WarehouseError as exc:
        fail(str(exc), 2)


def _warehouse_connect(ctx: Context) -> tuple[Any, Any]:
    from calltui.warehouse.settings import WarehouseError, connect

    settings = _warehouse_settings(ctx)
    try:
        return settings, connect(settings)
    except WarehouseError as exc:
        store.log_failed_sync(ctx.db, "warehouse login", str(exc))
        fail(str(exc))


def _match_in_warehouse(ctx: Context, options: MatchOptions) -> MatchSummary:
    from calltui.warehouse.match import run_match_in_warehouse
    from calltui.warehouse.settings import WarehouseError

    settings, conn = _warehouse_connect(ctx)
    try:
        with _progress(err) as progress:
            progress.add_task("matching in the warehouse", total=None)
            return run_match_in_warehouse(ctx.db, conn, settings, options)
    except WarehouseError as exc:
        fail(str(exc))
    finally:
        conn.close()


def _sync_warehouse(ctx: Context, all_sessions: bool, since: Any, until: Any) -> None:
    """Sessions, page views and form submits from the Marketo Measure warehouse."""
    from datetime import timedelta

    from calltui.warehouse.settings import WarehouseError
    from calltui.warehouse.sync import WarehouseSyncOptions, run_warehouse_sync

    settings, conn = _warehouse_connect(ctx)
    options = WarehouseSyncOptions(all_sessions=all_sessions, since=since, until=until,
                                   overlap=timedelta(hours=settings.overlap_hours),
                                   batch_size=settings.batch_size)
    try:
        with _progress(err) as progress:
            bar = progress.add_task("syncing the warehouse", total=None, unit="steps")
            result = run_warehouse_sync(
                ctx.db, conn, settings, options,
                on_progress=lambda d, t: progress.update(bar, completed=d, total=t))
    except WarehouseError as exc:
        fail(str(exc))
    finally:
        conn.close()
    rows = ", ".join(f"{n} {t}" for t, n in result.rows.items())
    Console(highlight=False).print(
        f"Synced from the warehouse: {rows} ({result.deleted} deleted, {result.rejected} "
        f"rejected; {result.cookies} call cookies, {result.new_cookies} new) with "
        f"{result.queries} queries")


@cli.command()
@click.option("--full", is_flag=True, help="Re-read every call Task, not just changes.")
@click.option("--since", metavar="DATE", help="Re-read Tasks modified since this date "
              "(midnight UTC) or ISO time (UTC if no offset); with --all-sessions, the start "
              "of the sessions' date range.")
@click.option("--dry-run", is_flag=True, help="Print the SOQL and the counts; write nothing.")
@click.option("--warehouse", "warehouse_only", is_flag=True,
              help="Only sync sessions, page views and form submits from the Marketo Measure "
                   "warehouse (Snowflake, config [warehouse]).")
@click.option("--all-sessions", is_flag=True,
              help="Warehouse: every row with EVENT_DATE in [--since, --until), not only the "
                   "call cookies'.")
@click.option("--until", help="With --all-sessions: the end of the date range (default: now).")
@pass_ctx
def sync(ctx: Context, full: bool, since: str | None, dry_run: bool, warehouse_only: bool,
         all_sessions: bool, until: str | None) -> None:
    """Sync call Tasks from Salesforce (credentials from SF_* variables), then re-match.

    With a [warehouse] section in the config, also the sessions of the call cookies from
    the Marketo Measure warehouse (SNOWFLAKE_* variables); --warehouse syncs only those.

    Example: SF_USERNAME=admin@acme.com SF_PASSWORD=... SF_SECURITY_TOKEN=... calltui sync
    """
    from calltui.sync import options_from_config, since_problem

    since_at = _moment("--since", since)
    until_at = _moment("--until", until)
    if full and since_at is not None:
        fail("--full and --since do not go together: --full re-reads every call Task, "
             "--since those modified since a time", 2)
    if all_sessions and since_at is None:
        fail("--all-sessions needs --since (and optionally --until): the date range to read", 2)
    if until_at is not None and not all_sessions:
        fail("--until goes with --all-sessions", 2)
    if warehouse_only or all_sessions:
        if dry_run:
            fail("--dry-run is for the Salesforce sync only", 2)
        _sync_warehouse(ctx, all_sessions, since_at, until_at)
        summary = run_match(ctx.db, ctx.config.match, ctx.config.vendor_rules)
        Console(highlight=False).print(_summary_table(summary, store.counts_by_flag(ctx.db)))
        return
    options = options_from_config(ctx.config.salesforce, ctx.config.task_fields, full=full,
                                  since=since_at, dry_run=dry_run)
    problem = since_problem(options, datetime.now(UTC))  # before the login: bad input
    if problem:
        fail(problem, 2)
    if dry_run and not ctx.db_path.exists():  # writes nothing: not even a new database
        with tempfile.TemporaryDirectory(prefix="calltui-dry-run-") as scratch:
            ctx.db_path = Path(scratch) / "dry-run.db"
            result = _run_sync(ctx, options)
            ctx.db.close()
    else:
        new_db = not ctx.db_path.exists()
        new_folders = ctx.missing_folders() if new_db else []
        announced: list[bool] = []

        def announce() -> None:  # where the data goes, as it starts: a mistyped --db shows
            if new_db and not announced:
                announced.append(True)
                err.print(f"New database: {ctx.db_path}", markup=False, highlight=False)

        try:
            result = _run_sync(ctx, options, first_rows=announce)
        except SystemExit:  # the one-line error is out
            if new_db and ctx.opened and store.is_empty(ctx.db, "tasks"):
                ctx.discard(new_folders)  # nothing synced: a mistyped --db leaves no file
            elif new_db and ctx.opened:
                announce()
            raise
        announce()
    if dry_run:
        for soql in result.soql:
            click.echo(soql)
        click.echo(f"{result.count} call Tasks in the window ({result.mode}; the deleted ones "
                   "are read apart); nothing written")
        return
    _after_sync(ctx, result)


def _after_sync(ctx: Context, result: Any) -> None:
    """What a sync did, the warehouse's sessions if configured, then the match."""
    out = Console(highlight=False, markup=False)
    out.print(f"{result.summary()}; API usage {result.usage_after}")
    if not result.moves_watermark:
        watermark = store.get_watermark(ctx.db)
        out.print(f"The sync watermark stays at {watermark}: this --since run started after "
                  "it, so the next sync still reads from there." if watermark else
                  "No sync watermark is set yet: this --since run read only its window, so "
                  "the next plain sync reads every call Task.")
    if ctx.config.warehouse:
        _sync_warehouse(ctx, False, None, None)
    try:
        summary = run_match(ctx.db, ctx.config.match, ctx.config.vendor_rules)
    except KeyboardInterrupt:
        fail("interrupted during the match: the synced Tasks are kept; run `calltui match` "
             "to finish it", 130)
    Console(highlight=False).print(_summary_table(summary, store.counts_by_flag(ctx.db)))
    if store.is_empty(ctx.db, "sessions"):
        err.print("No web sessions in this database yet, so no call can match one: import "
                  "a BIZ_SESSIONS export (`calltui import FILE`) or set up [warehouse].",
                  markup=False)


def _moment(option: str, value: str | None) -> Any:
    """``--since``/``--until`` as an aware UTC datetime (a date alone is midnight UTC)."""
    from calltui.normalize import parse_moment

    if value is None:
        return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        fail(f"{option}: {exc}", 2)


def _run_sync(ctx: Context, options: Any, first_rows: Callable[[], None] = lambda: None) -> Any:
    """``run_sync`` with a progress bar; a failure or Ctrl-C is one line saying what was
    committed and kept (the sync log says so too). ``first_rows`` runs when Tasks start
    to arrive."""
    from calltui.sf.client import SyncError
    from calltui.sync import run_sync

    client = _client(ctx, log_failure=not options.dry_run)

    def on_progress(done: int, total: int) -> None:
        if done:
            first_rows()
        progress.update(bar, completed=done, total=total)

    logged: list[int] = []  # this run's sync log row, once it has one
    with _progress(err) as progress:
        bar = progress.add_task("syncing Tasks", total=None, unit="Tasks")
        try:
            return run_sync(ctx.db, client, options, on_progress=on_progress,
                            on_log=logged.append)
        except SyncError as exc:
            progress.stop()
            kept = _kept(ctx.db, logged[0]) if logged else None
            fail(f"{exc}; {kept}" if kept else str(exc))
        except KeyboardInterrupt:
            progress.stop()
            fail(f"interrupted: {_kept(ctx.db, logged[0] if logged else 0, always=True)}", 130)


def _kept(db: Database, log_id: int, always: bool = False) -> str | None:
    """What the stopped sync logged as ``log_id`` kept and where the next one starts (its
    row's committed counts; not the newest row, which may be another run's); None when
    it kept nothing and ``always`` is not set."""
    row = store.sync_log_row(db, log_id) or {}
    stored, deleted = row.get("rows_upserted") or 0, row.get("rows_deleted") or 0
    if not (stored or deleted or always):
        return None
    message = f"{stored:,} Tasks stored and {deleted:,} deleted are kept"
    if str(row.get("mode", "")).endswith("bulk"):
        return (f"{message}; a Bulk API read moves the watermark only when it ends, so the "
                "next sync reads this window again")
    if not stored:
        return f"{message}; the next sync reads this window again"
    return f"{message}; the next sync goes on after them"


@cli.group()
def secret() -> None:
    """Keep Salesforce secrets in the OS keyring instead of the environment."""


@secret.command("set")
@click.argument("name", type=click.Choice(SECRET_NAMES))
def secret_set(name: str) -> None:
    """Store NAME in the keyring (asked for without echo; read from stdin's first line
    when stdin is not a terminal).

    Example: calltui secret set SF_PASSWORD
    """
    from calltui.sf.keychain import KeyringUnavailable, store_secret

    if _stdin_is_terminal():
        value = click.prompt(name, hide_input=True, confirmation_prompt=True)
    else:  # a script or a pipe: no prompt to answer, no echo to hide
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            fail(f"no value for {name} on stdin: pipe it in, or run this in a terminal")
    try:
        store_secret(name, value)
    except KeyringUnavailable as exc:
        fail(str(exc))
    click.echo(f"{name} stored in the OS keyring (service 'calltui').")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@secret.command("delete")
@click.argument("name", type=click.Choice(SECRET_NAMES))
def secret_delete(name: str) -> None:
    """Remove NAME from the keyring."""
    from calltui.sf.keychain import KeyringUnavailable, delete_secret

    try:
        found = delete_secret(name)
    except KeyringUnavailable as exc:
        fail(str(exc))
    click.echo(f"{name} removed." if found else f"{name} was not in the keyring.")


@cli.command()
@pass_ctx
def doctor(ctx: Context) -> None:
    """Check login, API version, fields and permissions, API usage and recent call Tasks."""
    from calltui.doctor import run_doctor
    from calltui.sf.client import SyncError
    from calltui.sync import options_from_config

    call_filter = options_from_config(ctx.config.salesforce, ctx.config.task_fields).call_filter
    client = _client(ctx)
    try:
        checks = run_doctor(client, ctx.config.task_fields, call_filter)
    except SyncError as exc:
        fail(str(exc))
    table = Table("check", "", "detail", title="calltui doctor")
    for check in checks:
        table.add_row(Text(check.name), "[green]ok[/]" if check.ok else "[red]FAIL[/]",
                      Text(check.detail))  # Text: a detail's '[salesforce]' is not markup
    Console(highlight=False).print(table)
    if not all(c.ok for c in checks):
        sys.exit(1)


@cli.command()
@click.option("--no-tui", is_flag=True, help="Print the summary and exit; never open the app.")
@click.option("--calls", default=3000, show_default=True, type=click.IntRange(10, 1_000_000),
              help="How many call Tasks to make.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@pass_ctx
def demo(ctx: Context, no_tui: bool, calls: int, seed: int) -> None:
    """Build a realistic demo org and warehouse export, import, match and show it."""
    from calltui.demo import DemoError, build_demo

    db_path = ctx.db_path if _db_given() else store.default_db_path().with_name("demo.db")
    try:
        with _progress(err) as progress:
            bar = progress.add_task("demo", total=None)

            def step(description: str, done: int, total: int) -> None:
                unit = ("Tasks" if description.startswith("syncing") else
                        "bytes" if description.startswith("importing") else "steps")
                progress.update(bar, description=description, completed=done, total=total,
                                unit=unit)

            summary = build_demo(db_path, calls=calls, seed=seed, on_progress=step,
                                 options=ctx.config.match)
    except DemoError as exc:
        fail(str(exc))
    db = store.open_db(db_path)
    Console(highlight=False).print(_summary_table(summary, store.counts_by_flag(db)))
    click.echo(f"Demo database: {db_path} (Tasks synced from a demo org on 127.0.0.1, "
               "never your Salesforce)")
    click.echo(f"Try: {_me()} --db {db_path} report calls --status outside_window")
    if not no_tui and sys.stdout.isatty() and sys.stdin.isatty():
        from calltui.tui.app import run_app

        run_app(db_path, ctx.config)


def _me() -> str:
    """How to call calltui again: the bare name when it is on PATH, else the full path."""
    import shutil

    if shutil.which("calltui"):
        return "calltui"
    return str(Path(sys.argv[0]).resolve()) if sys.argv and sys.argv[0] else "calltui"


def _db_given() -> bool:
    ctx = click.get_current_context()
    root = ctx.find_root()
    return root.params.get("db_path") is not None


def main() -> None:
    """Entry point: errors are one line on stderr, never a traceback."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except sqlite3.OperationalError as exc:
        if os.environ.get("CALLTUI_DEBUG"):
            raise
        if "locked" not in str(exc) and "busy" not in str(exc):
            fail(f"the database answered: {exc}")
        fail("another calltui is writing to this database and did not finish in time; "
             "try again when it is done (nothing was lost)")
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("CALLTUI_DEBUG"):
            raise
        fail(f"{type(exc).__name__}: {exc} (set CALLTUI_DEBUG=1 for the traceback)")


# --- commands that act on the findings (calltui/cli_actions.py) ---
from calltui.cli_actions import demo_org, escalate_cmd, fix_type, report_channels  # noqa: E402

cli.add_command(demo_org)
cli.add_command(escalate_cmd)
cli.add_command(fix_type)
report.add_command(report_channels)
