"""Which call-tracking vendor wrote each call Task: ordered, configurable rules.

A rule is ``{vendor, field, pattern}``: ``pattern`` is a regular expression
searched case-insensitively in the Task field ``field`` (a Salesforce API name
such as ``Subject``, ``Description``, ``OwnerId``, ``CallType``, or ``any`` for
Subject and Description together). The first rule that matches wins; a call no
rule matches is ``unknown``.

The config's ``[vendors]`` section::

    [vendors]
    defaults = true      # keep the built-in rules after yours (default true)
    rules = [
      { vendor = "CallRail", field = "OwnerId", pattern = "^0055g00000CaLLr" },
    ]

The attribution is stored in the derived table ``task_vendors`` (one row per
call Task) by :func:`refresh`, which every command that reads vendors runs
first; it attributes again only Tasks that are new or changed (by SystemModstamp
and Type), or every Task when the rules changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from calltui import store

__all__ = ["CALLRAIL", "CTM", "DEFAULT_RULES", "INVOCA", "UNKNOWN", "VENDORS", "Rule",
           "attribute", "parse_rules", "refresh", "resolve_vendor"]

CTM = "CallTrackingMetrics"
INVOCA = "Invoca/DialogTech"
CALLRAIL = "CallRail"
UNKNOWN = "unknown"
VENDORS = (CTM, INVOCA, CALLRAIL, UNKNOWN)

# Salesforce API name (lower case) -> tasks column
FIELD_COLUMNS = {
    "subject": "subject", "description": "description", "ownerid": "owner_id",
    "type": "type", "tasksubtype": "task_subtype", "calltype": "call_type",
    "status": "status", "whoid": "who_id", "whatid": "what_id",
}
ANY = "any"


@dataclass(frozen=True)
class Rule:
    """One attribution rule; ``field`` is an API name from FIELD_COLUMNS or ``any``."""

    vendor: str
    field: str
    pattern: str

    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)

    def columns(self) -> tuple[str, ...]:
        if self.field.lower() == ANY:
            return ("subject", "description")
        return (FIELD_COLUMNS[self.field.lower()],)


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(CTM, ANY, r"call\s*tracking\s*metrics|calltrackingmetrics\.com|\bCTM\b"),
    Rule(INVOCA, ANY, r"invoca|dialog\s*tech"),
    Rule(CALLRAIL, ANY, r"call\s*rail"),
)


def parse_rules(section: Mapping[str, Any]) -> tuple[Rule, ...]:
    """The rules of a ``[vendors]`` config section; ``ValueError`` with a one-line reason."""
    unknown = set(section) - {"rules", "defaults"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (known: defaults, rules)")
    defaults = section.get("defaults", True)
    if not isinstance(defaults, bool):
        raise ValueError("defaults must be true or false")
    raw = section.get("rules", [])
    if not isinstance(raw, list):
        raise ValueError("rules must be a list of {vendor, field, pattern} tables")
    rules = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or set(item) != {"vendor", "field", "pattern"} or not all(
                isinstance(v, str) and v for v in item.values()):
            raise ValueError(f"rule {i} must be {{vendor = \"...\", field = \"...\", "
                             "pattern = \"...\"}} with non-empty strings")
        rule = Rule(item["vendor"], item["field"], item["pattern"])
        if rule.field.lower() not in FIELD_COLUMNS and rule.field.lower() != ANY:
            raise ValueError(f"rule {i}: unknown field {rule.field!r} (known: any, "
                             "Subject, Description, OwnerId, Type, TaskSubtype, CallType, "
                             "Status, WhoId, WhatId)")
        try:
            rule.regex()
        except re.error as exc:
            raise ValueError(f"rule {i}: bad pattern {rule.pattern!r}: {exc}") from None
        rules.append(rule)
    return tuple(rules) + (DEFAULT_RULES if defaults else ())


def attribute(task: Mapping[str, Any], rules: Sequence[Rule] = DEFAULT_RULES) -> str:
    """The vendor of one Task row (tasks-table columns), or ``unknown``."""
    return _Compiled(rules).vendor(task)


class _Compiled:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = [(r.vendor, r.columns(), r.regex()) for r in rules]

    def vendor(self, task: Mapping[str, Any]) -> str:
        for vendor, columns, regex in self.rules:
            for column in columns:
                value = task.get(column)
                if value and regex.search(str(value)):
                    return vendor
        return UNKNOWN


def resolve_vendor(name: str, known: Iterable[str]) -> str | None:
    """A ``--vendor`` value as typed (any case, ``invoca``, ``ctm``) -> the stored name."""
    wanted = name.strip().casefold()
    aliases = {"ctm": CTM, "invoca": INVOCA, "dialogtech": INVOCA}
    if wanted in aliases:
        return aliases[wanted]
    for vendor in (*VENDORS, *known):
        if vendor.casefold() == wanted:
            return vendor
    return None


def _fingerprint(rules: Sequence[Rule]) -> str:
    text = json.dumps([[r.vendor, r.field, r.pattern] for r in rules])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_TASK_COLUMNS = ", ".join(f"t.{c}" for c in sorted(set(FIELD_COLUMNS.values())))


PAGE = 5000


# Salesforce bumps SystemModstamp on every change; Type also changes locally (fix-type).
# A Task without SystemModstamp (some file exports) is attributed again on every refresh.
_BASIS = ("CASE WHEN t.system_modstamp IS NULL THEN NULL "
          "ELSE t.system_modstamp || '|' || COALESCE(t.type, '') END")


def refresh(db: Database, rules: Sequence[Rule] = DEFAULT_RULES) -> int:
    """Attribute the call Tasks that are new or changed, or all after a change of rules.

    Returns the rows written. Reads a page at a time in rowid order (constant memory,
    sequential reads on a million rows) and drops the rows of Tasks that are gone or no
    longer calls.
    """
    compiled = _Compiled(rules)
    key = _fingerprint(rules)
    written = 0
    after = 0
    with store.atomic(db):
        while True:
            page = list(store.iter_query(db, (
                f"SELECT t.rowid AS n, t.id, {_TASK_COLUMNS}, {_BASIS} AS basis "
                "FROM tasks t LEFT JOIN task_vendors v ON v.task_id = t.id "
                "WHERE t.is_call = 1 AND t.rowid > ? AND (v.task_id IS NULL OR v.rules_key != ? "
                f"OR v.basis IS NULL OR v.basis != {_BASIS}) ORDER BY t.rowid LIMIT ?"),
                [after, key, PAGE]))
            store.upsert(db, "task_vendors", [
                {"task_id": row["id"], "vendor": compiled.vendor(row), "rules_key": key,
                 "basis": row["basis"]} for row in page])
            written += len(page)
            if len(page) < PAGE:
                break
            after = page[-1]["n"]
        # every call Task has its row now: more rows than calls means some are stale
        rows = db.execute("SELECT COUNT(*) FROM task_vendors").fetchone()[0]
        calls = db.execute("SELECT COUNT(*) FROM tasks WHERE is_call = 1").fetchone()[0]
        if rows > calls:
            gone = db.execute("DELETE FROM task_vendors WHERE NOT EXISTS (SELECT 1 FROM tasks "
                              "t WHERE t.id = task_vendors.task_id AND t.is_call = 1)")
            written += max(gone.rowcount, 0)
    return written


def known_vendors(db: Database) -> list[str]:
    """Vendors stored, for ``--vendor`` suggestions."""
    return [r["vendor"] for r in store.iter_query(
        db, "SELECT DISTINCT vendor FROM task_vendors ORDER BY vendor")]
