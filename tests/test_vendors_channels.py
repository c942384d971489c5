"""Vendor attribution rules and the channel report (its sums against ``report calls``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from calltui import store, vendors
from calltui.config import ConfigError, load_config
from calltui.vendors import CALLRAIL, CTM, DEFAULT_RULES, INVOCA, UNKNOWN, Rule, attribute
from tests.action_data import matched_db, run


@pytest.mark.parametrize(("subject", "description", "vendor"), [
    ("Inbound call", "Call via CallTrackingMetrics", CTM),
    ("CTM call 4471", None, CTM),
    ("Inbound call", "details: https://app.calltrackingmetrics.com/calls/1", CTM),
    ("Invoca Call Log", None, INVOCA),
    (None, "DialogTech call", INVOCA),
    ("Dialog Tech inbound", None, INVOCA),
    ("Inbound call", "CallRail inbound call", CALLRAIL),
    ("call rail lead", None, CALLRAIL),
    ("Inbound call", "Call via Google AdWords", UNKNOWN),
    ("Doctor visit", "ctmx", UNKNOWN),  # CTM only as a word
])
def test_default_rules(subject: str | None, description: str | None, vendor: str) -> None:
    assert attribute({"subject": subject, "description": description}) == vendor


def test_rules_are_ordered_and_can_read_owner_and_other_fields() -> None:
    rules = (Rule(CALLRAIL, "OwnerId", "^0055g00000CaLLr"), Rule("Acme", "CallType", "outbound"),
             *DEFAULT_RULES)
    task = {"subject": "Invoca Call Log", "owner_id": "0055g00000CaLLrAAA", "call_type": None}
    assert attribute(task, rules) == CALLRAIL  # the first rule that matches wins
    assert attribute({"call_type": "Outbound", "subject": "x"}, rules) == "Acme"
    assert attribute({"subject": "Invoca Call Log"}, rules) == INVOCA


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_vendors_section(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, """
[vendors]
rules = [{ vendor = "Acme Calls", field = "Subject", pattern = "^Inbound" }]
"""))
    assert config.vendor_rules[0] == Rule("Acme Calls", "Subject", "^Inbound")
    assert config.vendor_rules[1:] == DEFAULT_RULES
    only = load_config(_config(tmp_path, "[vendors]\ndefaults = false\nrules = []\n"))
    assert only.vendor_rules == ()


@pytest.mark.parametrize(("text", "message"), [
    ('rules = [{ vendor = "A", field = "Nope", pattern = "x" }]', "unknown field 'Nope'"),
    ('rules = [{ vendor = "A", field = "any", pattern = "(" }]', "bad pattern"),
    ('rules = [{ vendor = "A", field = "any" }]', "rule 1 must be"),
    ("colour = 1", "unknown key 'colour'"),
    ('defaults = "yes"', "defaults must be true or false"),
])
def test_bad_vendor_config_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_config(tmp_path, f"[vendors]\n{text}\n"))


def test_refresh_stores_vendor_per_call_and_rewrites_only_changes(tmp_path: Path) -> None:
    db = store.open_db(matched_db(tmp_path))
    assert vendors.refresh(db) == 0  # the match has already attributed every call
    db.execute("DELETE FROM task_vendors")
    assert vendors.refresh(db) == 7
    stored = {r["task_id"]: r["vendor"] for r in db.query("SELECT * FROM task_vendors")}
    assert Counter(stored.values()) == {INVOCA: 2, UNKNOWN: 2, CTM: 2, CALLRAIL: 1}
    assert vendors.refresh(db) == 0  # nothing changed
    rules = (Rule("Acme", "OwnerId", "Own01"),)
    assert vendors.refresh(db, rules) == 7  # new rules: every row again
    assert {r["vendor"] for r in db.query("SELECT vendor FROM task_vendors")} == {"Acme"}
    db.execute("UPDATE tasks SET is_call = 0 WHERE id = '00T5g0000000001EAA'")
    assert vendors.refresh(db, rules) == 1  # no longer a call: its row goes
    assert db.table("task_vendors").count == 6
    # a changed Task (Salesforce moves SystemModstamp) is attributed again, alone
    db.execute("UPDATE tasks SET subject = 'CallRail call', system_modstamp = "
               "'2026-04-01T00:00:00.000Z' WHERE id = '00T5g0000000002EAA'")
    assert vendors.refresh(db) == 6  # rules changed back: all again
    db.execute("UPDATE tasks SET subject = 'Invoca call', system_modstamp = "
               "'2026-04-02T00:00:00.000Z' WHERE id = '00T5g0000000002EAA'")
    assert vendors.refresh(db) == 1
    assert db.table("task_vendors").get("00T5g0000000002EAA")["vendor"] == INVOCA
    type_rule = (Rule("Typed", "Type", "^Meeting$"), *DEFAULT_RULES)
    vendors.refresh(db, type_rule)
    db.execute("UPDATE tasks SET type = 'Meeting' WHERE id = '00T5g0000000003EAA'")  # fix-type
    assert vendors.refresh(db, type_rule) == 1
    assert db.table("task_vendors").get("00T5g0000000003EAA")["vendor"] == "Typed"


def test_report_calls_vendor_filter(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    rows = json.loads(run(db, "report", "calls", "--format", "json", "--vendor",
                          "invoca").stdout)
    assert [r["task_id"] for r in rows] == ["00T5g0000000003EAA", "00T5g0000000004EAA"]
    config = _config(tmp_path, '[vendors]\nrules = [{ vendor = "Acme", field = "Subject", '
                               'pattern = "^Call from" }]\n')
    rows = json.loads(run(db, "report", "calls", "--format", "json", "--vendor", "acme",
                          config=config).stdout)
    assert [r["task_id"] for r in rows] == ["00T5g0000000003EAA"]
    bad = run(db, "report", "calls", "--vendor", "nobody")
    assert bad.exit_code == 2 and "unknown vendor" in bad.output


# --- report channels ---------------------------------------------------------------------


def _calls(db: Path, *args: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(
        run(db, "report", "calls", "--format", "json", *args).stdout)
    return rows


def test_channel_sums_equal_the_calls_report(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    report = json.loads(run(db, "report", "channels", "--format", "json").stdout)
    calls = _calls(db)
    by_status = Counter(str(r["status"]) for r in calls)
    for status, count in by_status.items():
        assert sum(row[status] for row in report["channels"]) == count
        assert report["totals"][status] == count
    assert sum(row["calls"] for row in report["channels"]) == len(calls)
    assert sum(row["calls"] for row in report["weeks"]) == len(calls)
    matched = by_status["matched"]
    assert sum(row["matched"] for row in report["weeks"]) == matched
    assert report["totals"]["match_rate"] == round(matched / (len(calls) - by_status["deleted"]),
                                                   4)
    # the matched call's channel is its session's; the others the compared session's
    channels = {row["channel"]: row for row in report["channels"]}
    assert channels["Paid Search.AdWords"]["matched"] == 1
    assert channels["Direct"]["call_before_session"] == 1
    assert channels["(no channel)"]["outside_window"] == 1
    assert channels["(no session)"]["calls"] == 4


def test_channel_sums_equal_the_calls_report_per_vendor(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    for vendor in ("ctm", "invoca", "CallRail", "unknown"):
        report = json.loads(run(db, "report", "channels", "--format", "json", "--vendor",
                                vendor).stdout)
        calls = _calls(db, "--vendor", vendor)
        assert report["totals"]["calls"] == len(calls)
        for status, count in Counter(str(r["status"]) for r in calls).items():
            assert report["totals"][status] == count


def test_channel_weeks_and_csv(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    weeks = run(db, "report", "channels", "--format", "csv", "--by", "week").stdout.splitlines()
    assert weeks == ["week,calls,deleted,matched,match_rate", "2026-W10,4,0,1,0.25",
                     "2026-W11,3,1,0,0.0"]
    table = run(db, "report", "channels").stdout
    assert "Paid Search.AdWords" in table and "2026-W11" in table
    header = run(db, "report", "channels", "--format", "csv").stdout.splitlines()[0]
    assert header == ("channel,matched,outside_window,call_before_session,unknown_bizible_id,"
                      "missing_bizible_id,deleted,calls,match_rate")
