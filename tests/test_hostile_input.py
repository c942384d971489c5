"""Hostile input: whatever bytes a vendor's file holds, the importer answers calmly.

Never a traceback, never a hang; good rows kept, bad rows rejected with a
reason, or the whole file refused with one line — and nothing stored before is lost.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from calltui import store
from calltui.importer import FileRefused, import_file
from tests.conftest import SAMPLE_SESSIONS, SAMPLE_TASKS

GOOD = SAMPLE_SESSIONS.read_bytes()
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def import_calmly(db: Database, path: Path, kind: str | None = None) -> None:
    """The contract: a result or FileRefused, and the earlier rows still there."""
    before = store.count_rows(db, "tasks")
    try:
        import_file(db, path, kind)
    except FileRefused as exc:
        assert "\n" not in str(exc)
    assert store.count_rows(db, "tasks") >= before


@pytest.fixture
def seeded(db: Database) -> Database:
    import_file(db, SAMPLE_TASKS)
    return db


@FUZZ
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".csv", ".json", ".gz", ".jsonl"]))
def test_random_bytes(seeded: Database, tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    import_calmly(seeded, path)
    assert store.count_rows(seeded, "tasks") == 4


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(GOOD)),
       flips=st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)),
                      max_size=8))
def test_mutated_sessions_csv(seeded: Database, tmp_path: Path, cut: int,
                              flips: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD[:cut])
    for index, value in flips:
        if index < len(data):
            data[index] = value
    path = tmp_path / "BIZ_SESSIONS.csv"
    path.write_bytes(bytes(data))
    import_calmly(seeded, path)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(SAMPLE_TASKS.read_bytes())))
def test_truncated_task_json(seeded: Database, tmp_path: Path, cut: int) -> None:
    path = tmp_path / "tasks.json"
    path.write_bytes(SAMPLE_TASKS.read_bytes()[:cut])
    import_calmly(seeded, path)


def test_nul_bytes_are_data_not_a_crash(db: Database, tmp_path: Path) -> None:
    lines = GOOD.split(b"\n")
    lines[2] = lines[2].replace(b"Social", b"Soc\x00ial")
    path = tmp_path / "nul.csv"
    path.write_bytes(b"\n".join(lines))
    import_calmly(db, path)
    assert store.count_rows(db, "sessions") == 3  # Python 3.11's csv reads NUL as a character


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-16", "\t"),  # Excel's "Unicode Text"
    ("utf-16", ","), ("utf-16-be", ","), ("utf-32", ","), ("utf-8-sig", ","), ("utf-8", ";"),
])
def test_utf16_utf32_and_a_bom_are_read_with_tabs_or_semicolons(
    db: Database, tmp_path: Path, encoding: str, delimiter: str
) -> None:
    path = tmp_path / "sessions.txt"
    text = GOOD.decode().replace(",", delimiter)
    bom = "\ufeff" if encoding == "utf-16-be" else ""
    path.write_bytes((bom + text).encode(encoding))
    assert import_file(db, path).stored == 3
    assert db.table("sessions").get("2026-03-02:09-02-51-7731005.5be07d1c2a9f4e61")[
        "channel"] == "Social.LinkedIn"


def test_enormous_field_is_rejected_not_fatal(db: Database, tmp_path: Path) -> None:
    header, first, *_ = GOOD.decode().split("\n")
    huge = first.replace("Paid Search.AdWords", "x" * 5_000_000)
    path = tmp_path / "huge.csv"
    path.write_text("\n".join([header, huge, first]) + "\n")
    import_calmly(db, path)
    assert store.count_rows(db, "sessions") >= 1


def test_a_hundred_thousand_columns(db: Database, tmp_path: Path) -> None:
    header = "ID,COOKIE_ID,EVENT_DATE," + ",".join(f"C{i}" for i in range(100_000))
    row = "S1,a3f9c2d417e84b0c9d1e5f6a7b8c9d0e,2026-03-02 12:00:00," + ",".join(
        "v" for _ in range(100_000))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n" + row + "\n")
    import_calmly(db, path)


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json(db: Database, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    import_calmly(db, path)
    lines = tmp_path / "deep.jsonl"
    nested = '{"ID": "S1", "COOKIE_ID": "' + "a" * 32 + '", "EVENT_DATE": "2026-03-02", "X": '
    lines.write_text(nested + "[" * depth + "]" * depth + "}\n")
    import_calmly(db, lines, "sessions")


def test_gzip_that_is_not_gzip(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "s.csv.gz"
    path.write_bytes(gzip.compress(GOOD)[:40])
    import_calmly(db, path)


def test_json_of_the_wrong_shapes(db: Database, tmp_path: Path) -> None:
    for body in (42, "text", {"records": "nope"}, [1, 2, 3], [{"records": [1]}], None):
        path = tmp_path / "shape.json"
        path.write_text(json.dumps(body))
        import_calmly(db, path)


# --- bytes that are not UTF-8, files cut short -------------------------------------------

HEADER = "ID,COOKIE_ID,EVENT_DATE,CHANNEL,MEDIUM,IS_DELETED\n"
COOKIE = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"


def refusal(db: Database, path: Path) -> str:
    """The one line an import of ``path`` is refused or stopped with."""
    with pytest.raises(FileRefused) as refused:
        import_file(db, path)
    return str(refused.value)


def session_rows(count: int) -> list[bytes]:
    return [f"S{i:06d},{COOKIE},2026-03-02 12:00:00.000,Direct,cpc,false\n".encode()
            for i in range(count)]


def test_a_byte_not_utf8_mid_file_rejects_its_row_only(db: Database, tmp_path: Path) -> None:
    rows = session_rows(3_000)
    rows[2_000] = rows[2_000].replace(b"Direct", b"Caf\xe9")  # line 2002
    rows[2_500] = rows[2_500].replace(b"cpc", b"c\xffc\xfe")
    rows[5] = rows[5].replace(b"cpc", b"\x80")  # one stray byte among the first lines
    path = tmp_path / "s.csv"
    path.write_bytes(HEADER.encode() + b"".join(rows))
    result = import_file(db, path)
    assert (result.read, result.stored, result.rejected) == (3_000, 2_997, 3)
    assert [(r["line"], r["column"], r["reason"]) for r in store.page_rejects(db)] == [
        (7, "MEDIUM", "not UTF-8 (byte 0x80 in MEDIUM): save the file as UTF-8 and import "
         "it again"),
        (2002, "CHANNEL", "not UTF-8 (byte 0xe9 in CHANNEL): save the file as UTF-8 and "
         "import it again"),
        (2502, "MEDIUM", "not UTF-8 (byte 0xff in MEDIUM): save the file as UTF-8 and import "
         "it again"),
    ]
    assert [r["raw"] for r in db.query("SELECT raw FROM rejects WHERE line = 2002")] == [
        f"S002000,{COOKIE},2026-03-02 12:00:00.000,Caf\ufffd,cpc,false"]
    assert db.table("sessions").get("S002001")["channel"] == "Direct"


def test_a_whole_latin1_file_is_refused_naming_the_encoding(db: Database,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(GOOD.decode().replace("Implants", "Impl\u00e4nts")
                     .replace("linkedin", "l\u00efnkedin").encode("latin-1"))
    assert refusal(db, path) == (
        f"{path}: not UTF-8: it looks like Windows-1252 or Latin-1 (line 2 has byte 0xe4, "
        "'\u00e4' in that encoding); save it as UTF-8 (in Excel: Save As, CSV UTF-8) and "
        "import it again")
    assert store.count_rows(db, "sessions") == 0


def test_utf16_without_a_bom_and_a_header_not_utf8_are_refused(db: Database,
                                                                tmp_path: Path) -> None:
    no_bom = tmp_path / "utf16.csv"
    no_bom.write_bytes(GOOD.decode().encode("utf-16-le"))
    header = tmp_path / "header.csv"
    header.write_bytes(GOOD.replace(b"CHANNEL", b"CH\xc4NNEL", 1))
    assert [refusal(db, no_bom), refusal(db, header)] == [
        f"{no_bom}: not UTF-8: it looks like UTF-16 without a byte-order mark; save it as "
        "UTF-8 (in Excel: Save As, CSV UTF-8) and import it again",
        f"{header}: the header is not UTF-8 (byte 0xc4): save the file as UTF-8 and import "
        "it again",
    ]


def test_json_with_a_byte_not_utf8(seeded: Database, tmp_path: Path) -> None:
    lines = tmp_path / "s.jsonl"
    lines.write_bytes(b"".join(
        json.dumps({"ID": f"S{i}", "COOKIE_ID": COOKIE, "EVENT_DATE": "2026-03-02 12:00",
                    "CHANNEL": "Caf\u00e9" if i == 300 else "Direct"}).encode()
        .replace(b"\\u00e9", b"\xe9") + b"\n" for i in range(400)))
    assert import_file(seeded, lines).stored == 399
    [reject] = store.page_rejects(seeded)
    assert (reject["line"], reject["reason"]) == (
        301, "not UTF-8 (byte 0xe9): save the file as UTF-8 and import it again")
    tasks = tmp_path / "t.json"
    tasks.write_bytes(SAMPLE_TASKS.read_bytes().replace(b"Inbound", b"Inb\xf6und", 1))
    number = SAMPLE_TASKS.read_text().split("Inbound")[0].count("\n") + 1
    assert refusal(seeded, tasks) == (f"{tasks}: line {number} is not UTF-8 (byte 0xf6): save "
                                  "the file as UTF-8 and import it again")
    assert store.count_rows(seeded, "tasks") == 4


def test_a_csv_cut_mid_row_stops_keeping_the_rows_before(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(HEADER.encode() + b"".join(session_rows(3)) + b"S9,a3f9c2d4")
    assert refusal(db, path) == (
        f"{path}: stopped at line 5: the file ends in the middle of a row (2 fields, header "
        "has 6): is it cut short? (3 rows stored, 1 rejected)")
    assert store.count_rows(db, "sessions") == 3


def test_a_field_over_the_limit_stops_and_says_how_many_lines_were_not_read(
    db: Database, tmp_path: Path
) -> None:
    rows = session_rows(5)
    rows[1] = rows[1].replace(b"Direct", b"x" * (17 * 1024 * 1024))
    path = tmp_path / "huge.csv"
    path.write_bytes(HEADER.encode() + b"".join(rows))
    assert refusal(db, path) == (
        f"{path}: stopped at line 3: a field longer than 16 MB, the most calltui reads; "
        "reading stopped here and the 3 lines after it were not read: shorten that field and "
        "import the file again (1 row stored, 1 rejected)")
