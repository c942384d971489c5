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
first; it rewrites only rows whose vendor changed.
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


_COLUMNS = ", ".join(sorted(set(FIELD_COLUMNS.values())))


def refresh(db: Database, rules: Sequence[Rule] = DEFAULT_RULES) -> int:
    """Attribute every call Task; store only what changed. Returns the rows written."""
    compiled = _Compiled(rules)
    key = _fingerprint(rules)
    stored = {r["task_id"]: (r["vendor"], r["rules_key"]) for r in store.iter_query(
        db, "SELECT task_id, vendor, rules_key FROM task_vendors")}
    changed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in store.iter_query(db, f"SELECT id, {_COLUMNS} FROM tasks WHERE is_call = 1"):
        vendor = compiled.vendor(row)
        seen.add(row["id"])
        if stored.get(row["id"]) != (vendor, key):
            changed.append({"task_id": row["id"], "vendor": vendor, "rules_key": key})
    gone = [task_id for task_id in stored if task_id not in seen]
    with db.atomic():
        for start in range(0, len(changed), store.BATCH):
            store.upsert(db, "task_vendors", changed[start:start + store.BATCH])
        for start in range(0, len(gone), store.BATCH):
            chunk = gone[start:start + store.BATCH]
            db.execute(f"DELETE FROM task_vendors WHERE task_id IN "
                       f"({', '.join('?' for _ in chunk)})", chunk)
    return len(changed) + len(gone)


def known_vendors(db: Database) -> list[str]:
    """Vendors stored, for ``--vendor`` suggestions."""
    return [r["vendor"] for r in store.iter_query(
        db, "SELECT DISTINCT vendor FROM task_vendors ORDER BY vendor")]
