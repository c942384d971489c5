"""``calltui escalate``: the hand-off bundle for a call-tracking vendor.

``calls.csv`` lists the calls the vendor must fix — no usable BizibleId (missing or a
placeholder), a malformed BizibleId, or a call time before the session it belongs to —
and ``summary.md`` counts them by ISO week, quotes Marketo Measure's rule and says what
the vendor must change. Phone numbers and e-mail addresses in free text are masked
(unless asked not to), and every cell a spreadsheet would run as a formula is
neutralised with a leading apostrophe (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from calltui import store
from calltui.models import Flag, Status

__all__ = ["CSV_COLUMNS", "Bundle", "affected_calls", "iso_week", "mask_text", "neutralise",
           "write_bundle"]

CSV_COLUMNS = (
    "task_id", "call_at", "call_at_field", "created_date", "bizible_id_as_written", "status",
    "flags", "problem", "gap_seconds", "vendor", "subject", "description",
)

RULE = (
    "Marketo Measure merges a phone call with the caller's web session through the Task "
    "field **BizibleId** (`bizible2__BizibleId__c`). It must hold the value of the visitor's "
    "Marketo Measure cookie **`_biz_uid`**: exactly 32 hexadecimal characters, e.g. "
    "`dde5687119cc4928fbf94393ed9f5c35`, written as is (no quotes, no `_biz_uid=` prefix, no "
    "other cookies). **A call Task without a BizibleId gets no touchpoint at all.** A call "
    "merges with the cookie's session when it comes at most 30 minutes after the session "
    "started; a call time *before* the session can never merge."
)

PROBLEMS = {
    "missing": "no BizibleId",
    "placeholder": "placeholder BizibleId",
    "malformed": "malformed BizibleId (not 32 hex characters)",
    "call_before_session": "call time before the session",
}

FIXES = {
    "missing": (
        "**No BizibleId.** Read the `_biz_uid` cookie on the page where the caller saw the "
        "tracking number and write it on every call Task. Check that your script runs after "
        "Marketo Measure's `bizible.js` has set the cookie, and how consent banners and ad "
        "blockers affect it."),
    "placeholder": (
        "**Placeholder BizibleId** (`undefined`, `null`, `none`, `0`). Your script wrote a "
        "value before the cookie existed, or wrote an empty variable as text. Write the "
        "cookie's real value; if there is none, leave the field empty rather than a "
        "placeholder."),
    "malformed": (
        "**Malformed BizibleId.** Write only the cookie value: 32 hexadecimal characters — "
        "no quotes, no `_biz_uid=` prefix, no other cookies, not truncated, not another id "
        "(session id, visitor id, your own caller id)."),
    "call_before_session": (
        "**Call time before the session.** The time on the Task is earlier than the web "
        "session that holds the same cookie: usually a time-zone error. Send times in UTC or "
        "with an explicit offset (Salesforce stores UTC), and fill Buyer Touchpoint Date "
        "(`bizible2__Bizible_Touchpoint_Date__c`) with the moment the call started."),
}

_EMAIL = r"[\w.+'\-]+@[\w\-]+(?:\.[\w\-]+)+"
# ISO dates and times are kept: they are not phone numbers
_DATETIME = (r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
             r"(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)")
# a phone number: an optional + and 7 to 15 digits (E.164's most), separated by
# spaces, dots, dashes, slashes or parentheses (national and international formats).
# A run of digits and separators is taken whole (the group is atomic), so a phone is
# never a part of a longer number; nor the digits of a word (a Salesforce Id, a
# _biz_uid cookie that starts with 12 digits: ``_phone`` leaves those out) or those
# that go on from one after a dot, as a Google Analytics client id's do
# (GA1.2.4489481.313699506).
_SEP = r"[\s./\-()]"
_PHONE = (rf"(?<![A-Za-z0-9_])(?<![0-9]\.)(?>\+?\(?\d(?:{_SEP}{{0,3}}\d)*\)?)"
          r"(?P<ext>\s?(?:x|ext\.?)\s?\d{1,6}(?![A-Za-z0-9_]))?")  # an extension: x12, ext. 12
_PII = re.compile(f"(?P<email>{_EMAIL})|(?P<date>{_DATETIME})|(?P<phone>{_PHONE})")
_LAST_DIGITS = re.compile(rf"{_SEP}*\d+\)?\Z")


def _mask(match: re.Match[str]) -> str:
    if match.group("email"):
        return "[email]"
    if match.group("date"):
        return match.group("date")
    if match.group("ext"):
        number = match.group("phone")[:-len(match.group("ext"))]
        masked = _phone(number, "")
        return "[phone]" if masked == "[phone]" else match.group("phone")
    return _phone(match.group("phone"), match.string[match.end():match.end() + 1])


def _phone(run: str, after: str) -> str:
    """``run`` as ``[phone]`` if it is one; its last digits stay as they are when the
    character ``after`` it glues them to a word (an Id, a cookie, "2nd")."""
    tail = ""
    if after.isalpha() or after == "_":
        cut = _LAST_DIGITS.search(run)
        if cut is not None:
            run, tail = run[:cut.start()], run[cut.start():]
    if 7 <= sum(c.isdigit() for c in run) <= 15:
        return "[phone]" + tail
    return run + tail


def mask_text(text: str | None) -> str | None:
    """Free text with e-mail addresses as ``[email]`` and phone numbers as ``[phone]``."""
    if text is None:
        return None
    return _PII.sub(_mask, text)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def iso_week(ts: str) -> str:
    """``2026-03-02T09:19:30.000Z`` -> ``2026-W10``."""
    year, week, _ = date.fromisoformat(ts[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def _problem(row: dict[str, Any]) -> str:
    flags = set((row["flags"] or "").split(","))
    if Flag.PLACEHOLDER_BIZIBLE_ID in flags:
        return "placeholder"
    if row["status"] == Status.MISSING_BIZIBLE_ID:
        return "missing"
    if Flag.MALFORMED_BIZIBLE_ID in flags:
        return "malformed"
    return "call_before_session"


def affected_calls(db: Database, *, since: str | None = None, vendor: str | None = None
                   ) -> Iterator[dict[str, Any]]:
    """Calls a vendor must fix, oldest first, with Task text and vendor (unmasked).

    ``vendor`` filters on the stored attribution (run ``vendors.refresh`` first).
    """
    sql = (
        "SELECT o.task_id, o.call_at, o.call_at_field, t.created_date, o.bizible_id_raw, "
        "o.status, o.flags, o.gap_seconds, COALESCE(v.vendor, 'unknown') AS vendor, "
        "t.subject, t.description FROM call_outcomes o "
        "LEFT JOIN tasks t ON t.id = o.task_id LEFT JOIN task_vendors v ON v.task_id = o.task_id "
        "WHERE o.status != 'deleted' AND (o.status IN ('missing_bizible_id', "
        "'call_before_session') OR o.task_id IN (SELECT task_id FROM call_flags WHERE flag IN "
        "('malformed_bizible_id', 'placeholder_bizible_id')))"
    )
    params: list[Any] = []
    if since is not None:
        sql += " AND o.call_at >= ?"
        params.append(since)
    if vendor is not None:
        sql += " AND COALESCE(v.vendor, 'unknown') = ?"
        params.append(vendor)
    for row in store.iter_query(db, sql + " ORDER BY o.call_at, o.task_id", params):
        row["problem"] = _problem(row)
        yield row


@dataclass
class Bundle:
    """What ``write_bundle`` wrote."""

    calls_csv: Path
    summary_md: Path
    calls: int = 0
    first: str | None = None
    last: str | None = None
    by_problem: Counter[str] = field(default_factory=Counter)
    by_week: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_vendor: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _csv_row(row: dict[str, Any], masked: bool) -> list[Any]:
    text = mask_text if masked else (lambda value: value)
    values = {
        **row, "bizible_id_as_written": text(row["bizible_id_raw"]),
        "flags": ";".join(f for f in (row["flags"] or "").split(",") if f),
        "problem": PROBLEMS[row["problem"]],
        "subject": text(row["subject"]), "description": text(row["description"]),
    }
    return [neutralise(values[column]) for column in CSV_COLUMNS]


def write_bundle(db: Database, out: Path, *, since: str | None = None,
                 vendor: str | None = None, masked: bool = True, generated_at: str = "",
                 examples: int = 5) -> Bundle:
    """Write ``calls.csv`` and ``summary.md`` into ``out`` (created; files replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    bundle = Bundle(out / "calls.csv", out / "summary.md")
    with open(bundle.calls_csv, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in affected_calls(db, since=since, vendor=vendor):
            writer.writerow(_csv_row(row, masked))
            bundle.calls += 1
            bundle.first = bundle.first or row["call_at"]
            bundle.last = row["call_at"]
            bundle.by_problem[row["problem"]] += 1
            bundle.by_week[iso_week(row["call_at"])][row["status"]] += 1
            bundle.by_week[iso_week(row["call_at"])]["problem:" + row["problem"]] += 1
            bundle.by_vendor[row["vendor"]] += 1
            if len(bundle.examples[row["problem"]]) < examples:
                bundle.examples[row["problem"]].append(row["task_id"])
    bundle.summary_md.write_text(
        summary_markdown(bundle, since=since, vendor=vendor, masked=masked,
                         generated_at=generated_at), encoding="utf-8")
    return bundle


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(bundle: Bundle, *, since: str | None, vendor: str | None, masked: bool,
                     generated_at: str) -> str:
    who = vendor or "all vendors"
    lines = [f"# Call-tracking escalation: {_md(who)}", ""]
    if generated_at:
        lines.append(f"Generated by calltui at {generated_at} (UTC).")
    if bundle.calls == 0:
        scope = f" since {since}" if since else ""
        lines += ["", f"No affected calls{scope}: every call Task carries a well-formed "
                  "BizibleId and a call time after its session.", ""]
        return "\n".join(lines)
    lines += [
        "",
        f"**{bundle.calls} call Tasks** from {bundle.first} to {bundle.last} (UTC) lost their "
        "Marketo Measure attribution because of the data the call-tracking integration wrote"
        + (f" (calls since {since})." if since else "."),
        "The calls are listed in `calls.csv`"
        + (" with phone numbers and e-mail addresses masked." if masked else
           " **unmasked: it holds phone numbers and e-mail addresses.**"),
        "",
        "## The rule",
        "",
        RULE,
        "",
        "## Counts by ISO week",
        "",
    ]
    statuses = [s.value for s in Status if any(s.value in c for c in bundle.by_week.values())]
    problems = [p for p in PROBLEMS if bundle.by_problem[p]]
    header = ["week", *statuses, *(PROBLEMS[p] for p in problems), "calls"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for week in sorted(bundle.by_week):
        counts = bundle.by_week[week]
        cells = [week, *(str(counts[s]) for s in statuses),
                 *(str(counts["problem:" + p]) for p in problems),
                 str(sum(counts[s] for s in statuses))]
        lines.append("| " + " | ".join(cells) + " |")
    totals = Counter[str]()
    for counts in bundle.by_week.values():
        totals.update(counts)
    cells = ["**total**", *(str(totals[s]) for s in statuses),
             *(str(bundle.by_problem[p]) for p in problems), str(bundle.calls)]
    lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Statuses: `missing_bizible_id` — no usable BizibleId, no touchpoint; "
              "`call_before_session` — every session of the cookie starts after the call; "
              "`unknown_bizible_id`/`outside_window` — a malformed BizibleId that found no "
              "session or no session in the window.", ""]
    if len(bundle.by_vendor) > 1 or vendor is None:
        lines += ["By vendor (attributed from the Task's subject, description, owner and "
                  "fields): " + ", ".join(f"{_md(v)} {n}" for v, n in
                                          bundle.by_vendor.most_common()) + ".", ""]
    lines += ["## Example Task Ids", ""]
    for problem in problems:
        lines.append(f"- {PROBLEMS[problem]} ({bundle.by_problem[problem]}): "
                     + ", ".join(f"`{i}`" for i in bundle.examples[problem]))
    lines += ["", "## What the vendor must change", ""]
    for problem in problems:
        lines += [f"- {FIXES[problem]}"]
    lines += ["", "Once fixed, new calls merge again; calls already logged keep their "
              "outcome unless their Task is corrected and Marketo Measure reprocesses it.", ""]
    return "\n".join(lines)
