"""Commands for people who act on the findings: ``escalate``, ``fix-type``, ``report channels``,
and ``demo-org``, a stand-in org to try ``sync``, ``doctor`` and ``fix-type`` on.

Registered on the main group at the end of ``calltui.cli``; the logic lives in the
headless modules ``escalate``, ``vendors``, ``channels`` and ``fixtype``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from sqlite_utils import Database

from calltui import channels, escalate, fixtype, store, vendors
from calltui.cli import (
    Context,
    _emit,
    _moment,
    _progress,
    _require_match,
    _wide_console,
    err,
    fail,
)
from calltui.normalize import format_ts
from calltui.tables import Col, fit_table, print_fitted

__all__ = ["demo_org", "escalate_cmd", "fix_type", "report_channels", "vendor_option"]

pass_ctx = click.make_pass_decorator(Context)  # cli's own, rebuilt: cli imports this module


def vendor_option(func: Any) -> Any:
    return click.option(
        "--vendor", "vendor", metavar="NAME",
        help="Only calls of this vendor: CallTrackingMetrics (ctm), Invoca/DialogTech "
             "(invoca), CallRail, unknown, or one named in [vendors] rules.")(func)


def resolve_vendor(ctx: Context, db: Database, name: str | None) -> str | None:
    """Attribute vendors with the config's rules, then resolve ``--vendor`` (or fail)."""
    vendors.refresh(db, ctx.config.vendor_rules)
    if name is None:
        return None
    configured = [rule.vendor for rule in ctx.config.vendor_rules]
    found = vendors.resolve_vendor(name, [*configured, *vendors.known_vendors(db)])
    if found is None:
        names = sorted({*vendors.VENDORS, *configured})
        fail(f"--vendor: unknown vendor {name!r} (known: {', '.join(names)})", 2)
    return found


def _since(value: str | None) -> str | None:
    """``--since`` as a stored timestamp: a date is midnight UTC; a time without offset UTC."""
    moment = _moment("--since", value)
    if moment is None:
        return None
    if moment > datetime.now(UTC):  # an empty bundle or plan would say nothing of why
        fail(f"--since {value} is in the future: no call is at or after it yet", 2)
    return format_ts(moment)


# --- escalate -------------------------------------------------------------------------


@click.command("escalate")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for calls.csv and summary.md (created; the two files replaced). "
                   "Default: escalation-DATE[-VENDOR] in the current directory.")
@click.option("--since", metavar="DATE", help="Only calls at or after this date or ISO time (UTC).")
@vendor_option
@click.option("--unmasked", is_flag=True,
              help="Keep phone numbers and e-mail addresses in subjects and descriptions.")
@pass_ctx
def escalate_cmd(ctx: Context, out: Path | None, since: str | None, vendor: str | None,
                 unmasked: bool) -> None:
    """Write a hand-off bundle for the call-tracking vendor (calls.csv, summary.md).

    Example: calltui escalate --out escalation-ctm --vendor ctm --since 2026-03-01
    """
    _require_match(ctx.existing_db)
    name = resolve_vendor(ctx, ctx.db, vendor)
    if out is None:
        slug = "".join(c if c.isalnum() else "-" for c in name or "").strip("-").lower()
        out = Path(f"escalation-{store.now_ts()[:10]}" + (f"-{slug}" if slug else ""))
    try:
        bundle = escalate.write_bundle(ctx.db, out, since=_since(since), vendor=name,
                                       masked=not unmasked, generated_at=store.now_ts())
    except OSError as exc:
        fail(f"cannot write the bundle in {out}: {exc.strerror or exc}")
    console = Console(highlight=False)
    parts = ", ".join(f"{escalate.PROBLEMS[p]} {n}" for p, n in bundle.by_problem.items())
    console.print(f"{bundle.calls} affected calls" + (f" ({parts})" if parts else ""))
    console.print(f"Wrote {bundle.calls_csv} and {bundle.summary_md}"
                  + (" [bold](unmasked: holds phone numbers and e-mails)[/]" if unmasked
                     else ""))


# --- report channels ------------------------------------------------------------------


@click.command("channels")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--by", type=click.Choice(["channel", "week"]), default="channel",
              show_default=True, help="Which table --format csv writes (JSON has both).")
@vendor_option
@pass_ctx
def report_channels(ctx: Context, fmt: str, by: str, vendor: str | None) -> None:
    """Calls by channel × status, and the match rate by ISO week.

    A call's channel is that of the session the rule compared it with.

    Example: calltui report channels --format csv --by week
    """
    import json

    _require_match(ctx.existing_db)
    name = resolve_vendor(ctx, ctx.db, vendor) if vendor else None
    result = channels.channel_report(ctx.db, name)
    if fmt == "json":
        click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        rows = result.channels if by == "channel" else result.weeks
        columns = channels.CHANNEL_COLUMNS if by == "channel" else channels.WEEK_COLUMNS
        _emit("csv", iter(rows), columns, (), "")
        return
    console = _wide_console()  # piped: no need to squeeze the table into 80 columns
    short = {"call_before_session": "before", "unknown_bizible_id": "unknown",
             "missing_bizible_id": "missing", "outside_window": "outside"}
    heads = (Col("channel", "words"), *(Col(short.get(s, s), justify="right")
                                        for s in channels.STATUSES),
             Col("calls", justify="right"), Col("rate", justify="right"))
    cells = [[row["channel"], *(str(row[s]) for s in channels.STATUSES), str(row["calls"]),
              _pct(row["match_rate"])] for row in [*result.channels, result.totals]]
    by_channel = fit_table(heads, cells, console.width, compact=True, keep=CHANNEL_KEEP,
                           title="Calls by channel" + (f" ({name})" if name else ""),
                           end_sections=[len(result.channels) - 1])
    by_channel.table.caption = ("before = call_before_session, unknown/missing = "
                                "unknown/missing BizibleId; rate = matched / calls not deleted")
    print_fitted(console, by_channel, err)
    console.print()
    heads = (Col("week"), *(Col(h, justify="right")
                            for h in ("calls", "deleted", "matched", "match rate")))
    cells = [[row["week"], str(row["calls"]), str(row["deleted"]), str(row["matched"]),
              _pct(row["match_rate"])] for row in result.weeks]
    print_fitted(console, fit_table(heads, cells, console.width, compact=True,
                                    title="Match rate by ISO week"), err)


CHANNEL_KEEP = ("channel", "rate", "calls", "matched", "outside", "before", "unknown",
                "missing")  # deleted last: a deleted call is compared with no session


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


# --- fix-type -------------------------------------------------------------------------


@click.command("fix-type")
@click.option("--set", "value", metavar="VALUE",
              help="The Type to write on call Tasks whose Type is blank, e.g. Call.")
@click.option("--apply", "apply_", is_flag=True,
              help="Write to Salesforce (default: dry run, print what would change).")
@click.option("--undo", "undo_file", type=click.Path(dir_okay=False, exists=True,
                                                     path_type=Path),
              help="Restore the old values from a backup file written by --apply.")
@click.option("--backup", "backup", type=click.Path(dir_okay=False, path_type=Path),
              help="Where --apply writes the backup (default: backups/ beside the database).")
@vendor_option
@click.option("--since", metavar="DATE", help="Only calls at or after this date or ISO time (UTC).")
@pass_ctx
def fix_type(ctx: Context, value: str | None, apply_: bool, undo_file: Path | None,
             backup: Path | None, vendor: str | None, since: str | None) -> None:
    """Fill blank Task.Type on call Tasks through the API (dry run unless --apply).

    \b
    Examples:
      calltui fix-type --set Call            (dry run)
      calltui fix-type --set Call --apply    (backup, then write)
      calltui fix-type --undo backups/fix-type-20260310T120000Z.jsonl
    """
    from calltui.match import run_match
    from calltui.sf.client import SyncError

    if undo_file is not None:
        if apply_ or value is not None:
            fail("--undo restores a backup: use it without --set and --apply", 2)
        try:
            fixtype.read_backup(undo_file)
        except ValueError as exc:
            fail(str(exc), 2)
    elif value is None or not value.strip():
        fail("--set VALUE is required (e.g. --set Call), or --undo FILE", 2)
    db = ctx.existing_db if undo_file is None else ctx.db
    if undo_file is None:
        name = resolve_vendor(ctx, db, vendor)
        planned = fixtype.plan(db, vendor=name, since=_since(since))
        if not apply_:
            _print_plan(planned, str(value))
            return
        if not planned:
            click.echo("No call Task with a blank Type: nothing to write.")
            return
    client = _login(ctx)
    path: Path | None = None
    try:
        with _progress(err) as progress:
            bar = progress.add_task("updating Tasks", total=None, unit="Tasks")

            def advance(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)

            if undo_file is not None:
                result = fixtype.undo(client, db, undo_file, on_progress=advance)
            else:
                path = backup or _default_backup(ctx)
                result = fixtype.apply_fix(client, db, [r["id"] for r in planned], str(value),
                                           path, on_progress=advance)
    except FileExistsError as exc:
        fail(f"backup file {exc.filename} exists already: choose another with --backup")
    except SyncError as exc:
        # batches written before the failure are kept
        run_match(db, ctx.config.match, ctx.config.vendor_rules)
        hint = ""
        if path is not None and path.exists():
            hint = (f"; Tasks written before it are in the backup {path} "
                    f"(undo: calltui fix-type --undo {path})")
        fail(f"{exc}{hint}")
    _print_result(result, undo_file is not None)
    if result.updated:
        run_match(db, ctx.config.match, ctx.config.vendor_rules)
    if result.failed:
        sys.exit(1)


def _login(ctx: Context) -> Any:
    from calltui.cli import _client

    return _client(ctx)


def _default_backup(ctx: Context) -> Path:
    return fixtype.default_backup(ctx.db_path)


PLAN_ROWS = 50
PLAN_SHOWN = (Col("task_id"), Col("call_at"), Col("vendor", "words"),
              Col("subject", "clip", least=12))


def _print_plan(planned: list[dict[str, Any]], value: str) -> None:
    console = _wide_console()
    if planned:
        rows = [[r["id"], r["call_at"], r["vendor"] or "unknown", r["subject"] or ""]
                for r in planned[:PLAN_ROWS]]
        print_fitted(console, fit_table(
            PLAN_SHOWN, rows, console.width, compact=True,
            title=f"Dry run: call Tasks whose blank Type would become {value!r}"),
            err, "widen the terminal to see them")
        if len(planned) > PLAN_ROWS:
            console.print(f"... and {len(planned) - PLAN_ROWS} more")
    console.print(
        f"Dry run: {len(planned)} call Tasks have a blank Type and would get Type = "
        f"{value!r}. Nothing was written; add --apply to write them (a backup of the old "
        "values is written first).")


def _print_result(result: fixtype.FixResult, undo: bool) -> None:
    console = Console(highlight=False)
    verb = "Restored" if undo else "Updated"
    console.print(f"{verb} {len(result.updated)} Tasks, {len(result.failed)} rejected by the "
                  f"org, {len(result.skipped)} skipped.")
    if result.backup is not None and not undo:
        console.print(f"Backup of the old values: {result.backup} "
                      f"(undo: calltui fix-type --undo {result.backup})")
    for task_id, why in result.skipped:
        console.print(f"  skipped  {task_id}  {why}")
    for task_id, code, message in result.failed:
        click.echo(f"  rejected {task_id}  {code}: {message}", err=True)


@click.command("demo-org")
@click.option("--calls", default=3000, show_default=True, type=click.IntRange(10, 1_000_000),
              help="How many call Tasks the org holds.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
@click.option("--seconds", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds (default: at Ctrl-C).")
def demo_org(calls: int, seed: int, seconds: float | None) -> None:
    """Serve the demo's call Tasks from a stand-in Salesforce org on 127.0.0.1.

    Point `calltui sync`, `doctor` and `fix-type` at it from another terminal to try them
    without touching a real org; its login is made up and printed.
    """
    import threading

    from calltui.demo import demo_org as make_org
    from calltui.demo import make_demo_data

    click.echo(f"Building the stand-in org's {calls:,} call Tasks ...", err=True)
    data = make_demo_data(calls, seed)  # a minute for 300,000: say so first
    with make_org(data, as_of=datetime.now(UTC)) as org:
        click.echo(f"A stand-in org serves {len(data.tasks):,} Tasks on {org.url} until "
                   f"{'Ctrl-C' if seconds is None else f'{seconds:g} s have passed'}. "
                   "In another terminal (the login is the stand-in's own, made up):")
        click.echo(f"  export SF_LOGIN_URL={org.url} SF_USERNAME={org.username} "
                   f"SF_PASSWORD={org.password} SF_SECURITY_TOKEN={org.security_token}")
        click.echo("  calltui --db demo-sync.db doctor")
        click.echo("  calltui --db demo-sync.db sync")
        sys.stdout.flush()
        try:
            threading.Event().wait(seconds)
        except KeyboardInterrupt:  # the way to stop it: one line, and a clean exit
            click.echo("The stand-in org stopped (Ctrl-C).", err=True)
