"""``calltui escalate``: the vendor bundle, masking and formula neutralising."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from calltui.escalate import iso_week, mask_text, neutralise
from tests.action_data import AFFECTED, matched_db, run

PHONES = [
    "+1 (415) 555-0132", "415.555.0132", "+44 20 7946 0958", "+14155550132", "415 555 0132",
    "(415)555-0132", "0039 06 6982 1234", "+49-30-901820", "+33 1 42 68 53 00",
    "+1.415.555.0132", "415-555-0132", "+61 (0)2 9374 4000", "14155550132", "020/7946 0958",
]
EMAILS = ["jane.doe@example.com", "ops+calls@acme.co.uk", "J_O'Neil@sub.example-mail.org"]


@pytest.mark.parametrize("phone", PHONES)
def test_no_digit_of_a_phone_number_survives(phone: str) -> None:
    masked = mask_text(f"Caller {phone}, call back tomorrow")
    assert masked is not None
    assert not re.search(r"\d", masked), masked
    assert masked == "Caller [phone], call back tomorrow"


@pytest.mark.parametrize("phone", PHONES)
def test_a_phone_glued_to_text_is_masked_too(phone: str) -> None:
    masked = mask_text(f"tel:{phone};ext=")
    assert masked is not None and not re.search(r"\d", masked), masked


@pytest.mark.parametrize("email", EMAILS)
def test_no_email_survives(email: str) -> None:
    masked = mask_text(f"from <{email}> (VIP)")
    assert masked == "from <[email]> (VIP)"


def test_dates_times_short_numbers_cookies_and_ids_are_kept() -> None:
    text = ("Call 2026-03-02 13:05, 2026-03-02T13:05:00Z, 312 s, ticket 4471, cookie "
            "_biz_uid=dde5687119cc4928fbf94393ed9f5c35, 5687119cc4928fbf94393ed9f5c35dd, "
            "Lead 00Q5g0000012345AAA")
    assert mask_text(text) == text
    assert mask_text(None) is None


@pytest.mark.parametrize("value", [
    "799803703981fb65bf03faaf38827c67",  # a cookie that starts with 12 digits
    "32873481934723984723984729384729",  # a cookie of digits only
    "GA1.2.4489481.313699506", "GA1.2.12345.678",  # Google Analytics client ids
    "_ga=GA1.2.4489481.313699506; _biz_uid=799803703981fb65bf03faaf38827c67",
    "00T5g00000021530AAA", "1234567890123456789",  # an Id; a number longer than a phone
    "2026.03.02.1305.1234",
])
def test_a_cookie_or_an_id_made_mostly_of_digits_is_kept_whole(value: str) -> None:
    assert mask_text(value) == value
    assert mask_text(f"BizibleId {value}, call at 2026-03-02 13:05") == (
        f"BizibleId {value}, call at 2026-03-02 13:05")


def test_phone_numbers_next_to_ids_and_to_each_other_are_masked() -> None:
    assert mask_text("555-0132 / 799803703981fb65bf03faaf38827c67 +1 415 555 0132") == (
        "[phone] / 799803703981fb65bf03faaf38827c67 [phone]")
    assert mask_text("call 415 555 0132, or 415 555 0199") == "call [phone], or [phone]"
    assert mask_text("Called 555-0132 / 2nd attempt") == "Called [phone] / 2nd attempt"
    for extension in ("x12", " x 12", " ext. 123456", "ext7"):
        assert mask_text(f"+1 415 555 0132{extension}, then") == "[phone], then", extension
    assert mask_text("ticket 4471x2") == "ticket 4471x2"  # too short for a phone


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://x")'])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Call", "-3600", "-12.5", "a=b", "", "1+1"])
def test_plain_cells_and_numbers_are_left_alone(cell: str) -> None:
    assert neutralise(cell) == cell
    assert neutralise(-3600.0) == -3600.0
    assert neutralise(None) is None


def test_iso_week_follows_iso_8601_across_the_year_end() -> None:
    assert iso_week("2026-03-02T09:19:30.000Z") == "2026-W10"
    assert iso_week("2027-01-01T00:00:00.000Z") == "2026-W53"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as src:
        return list(csv.DictReader(src))


def test_bundle_lists_the_affected_calls_masked(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    out = tmp_path / "bundle"
    result = run(db, "escalate", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = _rows(out / "calls.csv")
    assert [r["task_id"] for r in rows] == AFFECTED  # not matched, outside_window or deleted
    assert list(rows[0]) == ["task_id", "call_at", "call_at_field", "created_date",
                             "bizible_id_as_written", "status", "flags", "problem",
                             "gap_seconds", "vendor", "subject", "description"]
    by_id = {r["task_id"]: r for r in rows}
    assert by_id["00T5g0000000002EAA"]["status"] == "missing_bizible_id"
    assert by_id["00T5g0000000003EAA"]["status"] == "call_before_session"
    assert float(by_id["00T5g0000000003EAA"]["gap_seconds"]) == -7200
    assert by_id["00T5g0000000004EAA"]["bizible_id_as_written"] == "undefined"
    assert by_id["00T5g0000000004EAA"]["problem"] == "placeholder BizibleId"
    assert "malformed_bizible_id" in by_id["00T5g0000000005EAA"]["flags"]
    assert [r["vendor"] for r in rows] == ["CallRail", "Invoca/DialogTech",
                                           "Invoca/DialogTech", "unknown"]
    text = (out / "calls.csv").read_text()
    for secret in ("555", "0132", "7946", "0958", "0199", "@example.com", "jane.doe",
                   "ops+calls", "acme.co.uk"):
        assert secret not in text
    assert "[phone]" in text and "[email]" in text
    assert "2026-03-09 10:00" in by_id["00T5g0000000005EAA"]["description"]


def test_bundle_neutralises_formula_cells(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    out = tmp_path / "bundle"
    assert run(db, "escalate", "--out", str(out)).exit_code == 0
    by_id = {r["task_id"]: r for r in _rows(out / "calls.csv")}
    assert by_id["00T5g0000000002EAA"]["subject"].startswith("'=HYPERLINK(")
    assert by_id["00T5g0000000005EAA"]["bizible_id_as_written"] == "'@SUM(1+1)*cmd"
    assert by_id["00T5g0000000005EAA"]["subject"] == "'-2+3"
    assert by_id["00T5g0000000005EAA"]["description"].startswith("'\t")
    for row in by_id.values():
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) or \
                re.fullmatch(r"-\d+(\.\d+)?", value)


def test_unmasked_keeps_contacts_but_still_neutralises(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    out = tmp_path / "bundle"
    assert run(db, "escalate", "--out", str(out), "--unmasked").exit_code == 0
    text = (out / "calls.csv").read_text()
    assert "+1 (415) 555-0132" in text and "jane.doe@example.com" in text
    assert "'=HYPERLINK(" in text
    assert "unmasked" in (out / "summary.md").read_text()


def test_summary_has_weeks_range_rule_examples_and_fixes(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    out = tmp_path / "bundle"
    assert run(db, "escalate", "--out", str(out)).exit_code == 0
    md = (out / "summary.md").read_text()
    assert "**4 call Tasks** from 2026-03-02T12:20:00.000Z to 2026-03-09T10:00:00.000Z" in md
    assert "`_biz_uid`" in md and "32 hexadecimal characters" in md
    assert "without a BizibleId gets no touchpoint" in md
    week10 = next(line for line in md.splitlines() if line.startswith("| 2026-W10 "))
    week11 = next(line for line in md.splitlines() if line.startswith("| 2026-W11 "))
    assert week10.endswith("| 3 |") and week11.endswith("| 1 |")
    for task_id in AFFECTED:
        assert f"`{task_id}`" in md
    for fix in ("**No BizibleId.**", "**Placeholder BizibleId**", "**Malformed BizibleId.**",
                "**Call time before the session.**"):
        assert fix in md
    assert not re.search(r"555|@example", md)


def test_since_and_vendor_filter_the_bundle(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    out = tmp_path / "b"
    assert run(db, "escalate", "--out", str(out), "--since", "2026-03-03").exit_code == 0
    assert [r["task_id"] for r in _rows(out / "calls.csv")] == AFFECTED[2:]
    assert run(db, "escalate", "--out", str(out), "--vendor", "invoca").exit_code == 0
    assert [r["task_id"] for r in _rows(out / "calls.csv")] == AFFECTED[1:3]
    assert "Invoca/DialogTech" in (out / "summary.md").read_text()
    assert run(db, "escalate", "--out", str(out), "--since", "2026-06-01").exit_code == 0
    assert _rows(out / "calls.csv") == []
    assert "No affected calls" in (out / "summary.md").read_text()


@pytest.mark.parametrize("command", [["escalate"], ["fix-type", "--set", "Call"]])
def test_a_since_in_the_future_is_refused(tmp_path: Path, command: list[str]) -> None:
    """It gave an empty bundle ('0 affected calls'), as if nothing were wrong."""
    db = matched_db(tmp_path)
    future = run(db, *command, "--since", "2999-01-01")
    assert future.exit_code == 2
    assert future.stderr == ("error: --since 2999-01-01 is in the future: no call is at or "
                             "after it yet\n")


def test_escalate_errors_are_one_line(tmp_path: Path) -> None:
    db = matched_db(tmp_path)
    bad = run(db, "escalate", "--out", str(tmp_path / "b"), "--vendor", "acme")
    assert bad.exit_code == 2 and "unknown vendor 'acme'" in bad.output
    bad = run(db, "escalate", "--out", str(tmp_path / "b"), "--since", "last week")
    assert bad.exit_code == 2 and "--since" in bad.output
    missing = run(tmp_path / "none.db", "escalate", "--out", str(tmp_path / "b"))
    assert missing.exit_code == 1 and "no database" in missing.output


def test_a_phone_number_written_as_bizible_id_is_masked_too() -> None:
    from calltui.escalate import CSV_COLUMNS, _csv_row

    row = {"task_id": "00T5g0000000009EAA", "call_at": "2026-03-02T12:20:00.000Z",
           "call_at_field": "CreatedDate", "created_date": "2026-03-02T12:20:00.000Z",
           "bizible_id_raw": "+1 415-555-0177", "status": "unknown_bizible_id",
           "flags": "malformed_bizible_id", "problem": "malformed", "gap_seconds": None,
           "vendor": "unknown", "subject": None, "description": None}
    cells = dict(zip(CSV_COLUMNS, _csv_row(row, masked=True), strict=True))
    assert cells["bizible_id_as_written"] == "[phone]"
    cells = dict(zip(CSV_COLUMNS, _csv_row(row, masked=False), strict=True))
    assert cells["bizible_id_as_written"] == "'+1 415-555-0177"


def test_out_defaults_to_a_dated_folder_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    db = matched_db(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run(db, "escalate", "--vendor", "invoca").exit_code == 0
    [folder] = tmp_path.glob("escalation-*-invoca-dialogtech")
    assert len(_rows(folder / "calls.csv")) == 2
