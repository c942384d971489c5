"""Read input files: sniff their kind and yield raw records with their line numbers.

Kinds: ``tasks`` (Salesforce REST JSON in three shapes, Data Loader CSV),
``sessions``, ``page-views`` and ``form-submits`` (warehouse CSV, CSV.gz or
JSON lines). Nothing here touches the database.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from calltui.records import (
    TASK_FIELDS,
    WAREHOUSE_TABLES,
    TaskFields,
    duplicated_columns,
    header_key,
)
from calltui.sources.text import (
    ERRORS,
    bad_bytes,
    encoding_of,
    encoding_problem,
    not_utf8,
    printable,
)

__all__ = ["KINDS", "FileRefused", "Record", "expand_inputs", "read_records", "sniff"]

KINDS = ("tasks", "sessions", "page-views", "form-submits")
_TASK_KEYS = frozenset(name.lower() for name in TASK_FIELDS) | {"attributes"}
_TASK_MARKERS = _TASK_KEYS - {"id", "attributes", "description", "status", "subject"}
_WAREHOUSE_MARKERS = frozenset({
    "cookie_id", "event_date", "visitor_id", "session_id", "channel", "landing_page",
    "web_source", "form_type", "current_page", "is_first_session", "has_form", "modified_date",
})
_SNIFF_BYTES = 64 * 1024

FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)


class FileRefused(Exception):
    """The whole file cannot be read as any calltui input; the message is one line."""

    status = "refused"
    """How the import log records it."""


class Cancelled(FileRefused):
    """The user cancelled the work (the app's ``x``), raised from an ``on_progress``
    callback: the import log says "cancelled"; a sync keeps the pages it stored and its
    log says "interrupted", as after Ctrl-C."""

    status = "cancelled"

    def __init__(self) -> None:
        super().__init__("cancelled by the user")


@dataclass
class Record:
    """One raw record: where it sits in the file and its fields (or why it is unreadable)."""

    line: int
    fields: dict[str, Any] | None
    problem: str | None = None
    raw: str | None = None
    column: str | None = None
    """The field at fault, when there is one."""
    stops: bool = False
    """Reading stopped here: the file is cut short, or the rest cannot be read."""


@dataclass
class Progress:
    """Bytes read so far of the file on disk (compressed bytes for .gz)."""

    done: int = 0
    total: int = 0


def _open_binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """The file for reading (decompressed if gzip) and the raw handle for progress."""
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw)), raw
    raw.seek(0)
    return raw, raw


def _open_text(path: Path, newline: str | None = None) -> tuple[IO[str], IO[bytes]]:
    """The file as text in its encoding (``text.encoding_of``), bytes that are not in it
    marked, and the raw handle for progress."""
    stream, raw = _open_binary(path)
    encoding = encoding_of(stream.read(4))
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding=encoding, errors=ERRORS, newline=newline), raw


def _head_bytes(path: Path) -> bytes:
    stream, raw = _open_binary(path)
    try:
        return stream.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise FileRefused(f"{path}: cannot read ({exc})") from None
    finally:
        raw.close()


def _head(path: Path) -> str:
    data = _head_bytes(path)
    return data.decode(encoding_of(data), errors="replace")


def is_json(path: Path) -> bool:
    """Whether ``path`` (gzipped or not) holds JSON or JSON lines rather than CSV."""
    return _head(path).lstrip()[:1] in ("[", "{")


def check_readable(path: Path) -> str:
    """The first bytes of ``path``; ``FileRefused`` when it is missing, a folder or empty."""
    if not path.exists():
        raise FileRefused(f"{path}: no such file")
    if path.is_dir():
        raise FileRefused(f"{path}: is a directory")
    data = _head_bytes(path)
    encoding = encoding_of(data)
    head = data.decode(encoding, errors="replace")
    if not head.strip():
        raise FileRefused(f"{path}: empty file")
    problem = encoding_problem(data) if encoding == "utf-8-sig" else None
    if problem:
        raise FileRefused(f"{path}: not UTF-8: {problem}; save it as UTF-8 (in Excel: "
                          "Save As, CSV UTF-8) and import it again")
    return head


def sniff(path: Path) -> str:
    """The kind of ``path`` from its first bytes, or ``FileRefused`` saying why not."""
    head = check_readable(path)
    text = head.lstrip()
    if text[0] in "[{":
        return _sniff_json(path, text)
    return _sniff_csv_header(path, head)


def check_forced_kind(path: Path, kind: str) -> None:
    """Refuse ``--kind`` when the file is plainly the other family (Tasks vs warehouse)."""
    check_readable(path)
    try:
        detected = sniff(path)
    except FileRefused:
        return  # the kind's own column checks speak when the rows are read
    if (detected == "tasks") != (kind == "tasks"):
        raise FileRefused(f"{path}: --kind {kind} does not fit: the file looks like {detected}")


def _sniff_json(path: Path, text: str) -> str:
    first_line = text.split("\n", 1)[0].strip()
    try:
        first = json.loads(first_line)
    except (ValueError, RecursionError):
        first = None
    if isinstance(first, dict) and not ({"records", "totalSize"} & first.keys()):
        return _kind_from_keys(path, {header_key(k) for k in first})
    return "tasks"


def _sniff_csv_header(path: Path, head: str) -> str:
    first = head.split("\n", 1)[0]
    try:
        header = next(csv.reader(io.StringIO(first), delimiter=delimiter_of(first)))
    except (StopIteration, csv.Error):
        raise FileRefused(f"{path}: not a CSV or JSON file calltui reads") from None
    return _kind_from_keys(path, {header_key(h) for h in header})


def _kind_from_keys(path: Path, keys: set[str]) -> str:
    """Tasks or which warehouse table, by which family's columns the header has more of."""
    warehouse, task = len(keys & _WAREHOUSE_MARKERS), len(keys & _TASK_MARKERS)
    if warehouse and warehouse >= task:
        if "form_type" in keys:
            kind = "form-submits"
        elif "current_page" in keys or ("session_id" in keys and "channel" not in keys):
            kind = "page-views"
        else:
            kind = "sessions"
        check_columns(path, kind, keys)
        return kind
    if task:
        check_columns(path, "tasks", keys)
        return "tasks"
    raise FileRefused(
        f"{path}: not a calltui input (expected Salesforce Task or "
        "BIZ_SESSIONS / BIZ_PAGE_VIEWS / BIZ_FORM_SUBMITS columns)"
    )


def check_columns(path: Path, kind: str, keys: set[str]) -> None:
    """Refuse a file whose header lacks a column the kind needs."""
    if kind == "tasks":
        missing = [] if "id" in keys else ["Id"]
    else:
        missing = [c.upper() for c in WAREHOUSE_TABLES[kind].required if c not in keys]
    if missing:
        raise FileRefused(f"{path}: missing required column {', '.join(missing)} for {kind}")


def check_duplicates(path: Path, kind: str, header: list[str], fields: TaskFields) -> None:
    """Refuse a header that names a column calltui reads twice: the last would win unseen
    (a second ``ID`` column gave every row the same ID)."""
    groups = duplicated_columns(kind, header, fields)
    if not groups:
        return
    named = ", ".join(
        f"{header[group[0]].strip()} (columns {' and '.join(str(i + 1) for i in group)})"
        for group in groups)
    raise FileRefused(f"{path}: duplicated column{'s' if len(groups) > 1 else ''} {named}: "
                      "calltui cannot tell which to read; remove the extra one and import again")


def delimiter_of(header: str) -> str:
    """A comma, or the tab of Excel's "Unicode Text" (or the semicolon of a European
    Excel) when the header line holds more of those than of commas."""
    return max(",\t;", key=lambda c: (header.count(c), c == ","))


_GLOB_CHARS = frozenset("*?[")


def expand_inputs(args: Iterable[Path]) -> tuple[list[Path], list[str], list[str]]:
    """The files to import for the paths given on the command line, notes saying what
    a folder or pattern stood for, and one refusal per folder or pattern with no file.

    A folder gives every file directly in it, sorted by name; a pattern (``*.csv.gz``,
    quoted so calltui expands it rather than the shell) gives its matches, sorted. Hidden
    files (``.DS_Store``, editor swap files) and sub-folders are skipped, and named. A
    plain path is kept as it is, even if missing: the import then refuses it by name.
    """
    files: list[Path] = []
    notes: list[str] = []
    refused: list[str] = []
    for arg in args:
        if arg.is_dir():
            found, hidden, folders = _folder_files(sorted(arg.iterdir()))
            what = f"{arg}{'' if str(arg).endswith(('/', chr(92))) else '/'}"
        elif not arg.exists() and _GLOB_CHARS & set(str(arg)):
            matches = sorted(Path(m) for m in glob.glob(str(arg), include_hidden=False))
            found, hidden, folders = _folder_files(matches)
            what = str(arg)
        else:
            files.append(arg)
            continue
        files.extend(found)
        note = f"{what}: {len(found)} file{'' if len(found) == 1 else 's'}"
        if found:
            note += " (" + ", ".join(p.name for p in found) + ")"
        for label, skipped in (("hidden", hidden), ("folders", folders)):
            if skipped:
                note += f"; skipped {label}: " + ", ".join(p.name for p in skipped)
        if found:
            notes.append(note)
        else:
            refused.append(f"{note}: nothing to import")
    return files, notes, refused


def _folder_files(paths: list[Path]) -> tuple[list[Path], list[Path], list[Path]]:
    found, hidden, folders = [], [], []
    for path in paths:
        if path.name.startswith("."):
            hidden.append(path)
        elif path.is_dir():
            folders.append(path)
        else:
            found.append(path)
    return found, hidden, folders


def read_records(path: Path, kind: str, progress: Progress | None = None,
                 fields: TaskFields = TaskFields()) -> Iterator[Record]:
    """Yield the records of ``path`` read as ``kind``; a bad line is a Record with a problem.
    ``fields``: the Task fields configured (a second column for one of them is refused)."""
    progress = progress or Progress()
    progress.total = path.stat().st_size
    head = _head(path).lstrip()
    if not head:
        raise FileRefused(f"{path}: empty file")
    if head[0] not in "[{":
        yield from _read_csv(path, kind, progress, fields)
    elif kind == "tasks" and not _is_json_lines(head):
        yield from _read_task_json(path, progress)
    else:
        yield from _read_json_lines(path, progress)


def _is_json_lines(head: str) -> bool:
    first = head.split("\n", 1)[0].strip()
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and "records" not in value and "\n" in head.strip()


class CsvRows:
    """A CSV file as its header and a stream of ``(line, values)``; ``values`` is the list of
    fields, or a ``Record`` saying why the row is unreadable. The header is checked for the
    kind's required columns on opening (``FileRefused`` before anything is read)."""

    def __init__(self, path: Path, kind: str, progress: Progress,
                 fields: TaskFields = TaskFields()) -> None:
        self.path, self.progress = path, progress
        delimiter = delimiter_of(_head(path).split("\n", 1)[0])
        self._text, self._raw = _open_text(path, newline="")
        self._reader = csv.reader(self._text, delimiter=delimiter)
        self._marked = bad_bytes()  # bytes not UTF-8 decoded so far and found in a row
        try:
            self.header: list[str] = next(self._reader)
        except StopIteration:
            self.close()
            raise FileRefused(f"{path}: empty file") from None
        except (csv.Error, EOFError, OSError) as exc:
            self.close()
            raise FileRefused(f"{path}: cannot read the header ({exc})") from None
        try:
            self._check_header(kind, fields)
        except FileRefused:
            self.close()
            raise

    def _check_header(self, kind: str, fields: TaskFields) -> None:
        found = not_utf8(self.header, ())
        if found:
            raise FileRefused(f"{self.path}: the header is {found[1]}")
        check_columns(self.path, kind, {header_key(h) for h in self.header})
        check_duplicates(self.path, kind, self.header, fields)

    def close(self) -> None:
        self._text.close()
        self._raw.close()

    line = 0
    """The line the record last yielded starts on."""

    def __iter__(self) -> Iterator[list[str] | Record]:
        reader, raw, progress = self._reader, self._raw, self.progress
        width = len(self.header)
        start = reader.line_num + 1
        count = 0
        short: Record | None = None  # a row too short, held back: the last one is a cut
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except (csv.Error, EOFError, OSError) as exc:
                progress.done = raw.tell()
                self.line = start
                if short:
                    yield short
                yield Record(start, None, self._stop_reason(exc), stops=True)
                return
            self.line, start = start, reader.line_num + 1
            count += 1
            if not count & 1023:
                progress.done = raw.tell()
            if short:
                yield short
                short = None
            if bad_bytes() != self._marked:  # a byte not UTF-8 is in this row or a later one
                found = not_utf8(values, self.header)
                if found:
                    self._marked += found[0]
                    yield Record(self.line, None, found[1], printable(",".join(values)),
                                 column=found[2])
                    continue
            if len(values) != width:
                if not values or values == [""]:
                    continue
                record = Record(self.line, None, _width_reason(values, width, self.line,
                                                               reader.line_num),
                                ",".join(values))
                if len(values) < width:
                    short = record
                else:
                    yield record
                continue
            yield values
        progress.done = raw.tell()
        if short and _ends_mid_line(self._raw, self._text):
            short.problem = (f"the file ends in the middle of a row ({short.problem}): "
                             "is it cut short?")
            short.stops = True
        if short:
            yield short

    def _stop_reason(self, exc: Exception) -> str:
        if "field larger than field limit" in str(exc):
            lines = _lines_left(self._text)
            return (f"a field longer than {FIELD_LIMIT // 2**20} MB, the most calltui reads; "
                    f"reading stopped here and the {lines:,} lines after it were not read: "
                    "shorten that field and import the file again")
        return (f"unreadable from this line on ({exc}); the rows before it are stored: "
                "fix the file and import it again")


def _ends_mid_line(raw: IO[bytes], text: IO[str]) -> bool:
    """Whether the file ends without a line break (a gzip's content is not looked at:
    a gzip cut short stops at its end marker)."""
    if text.buffer is not raw:  # type: ignore[attr-defined]
        return False
    raw.seek(-min(2, raw.tell()), io.SEEK_END)
    return not raw.read().rstrip(b"\x00").endswith((b"\n", b"\r"))


def _lines_left(text: IO[str]) -> int:
    """How many lines are left in ``text`` (0 when the rest cannot be read either)."""
    count = 0
    try:
        for chunk in iter(lambda: text.read(1 << 20), ""):
            count += chunk.count("\n")
    except (EOFError, OSError):
        pass
    return count


def _width_reason(values: list[str], width: int, first: int, last: int) -> str:
    """Why a row of ``values`` (lines ``first`` to ``last``) does not fit the header."""
    reason = f"{len(values)} fields, header has {width}"
    if any("\n" in value for value in values):  # the row ran on past its own line
        reason += (f"; a quoted field runs on from line {first} to line {last}: "
                   "is a quote left open?")
    return reason


def _read_csv(path: Path, kind: str, progress: Progress, fields: TaskFields
              ) -> Iterator[Record]:
    rows = CsvRows(path, kind, progress, fields)
    header = rows.header
    try:
        for values in rows:
            if isinstance(values, Record):
                yield values
            else:
                yield Record(rows.line, dict(zip(header, values, strict=True)))
    finally:
        rows.close()


def _read_json_lines(path: Path, progress: Progress) -> Iterator[Record]:
    text, raw = _open_text(path)
    marked = bad_bytes()
    with raw, text:
        for number, line in enumerate(text, start=1):
            progress.done = raw.tell()
            if not line.strip():
                continue
            found = not_utf8((line,), ()) if bad_bytes() != marked else None
            if found:
                marked += found[0]
                yield Record(number, None, found[1], printable(line[:500]))
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield Record(number, None, f"not valid JSON: {exc.args[0]}", line[:500])
                continue
            except RecursionError:
                yield Record(number, None, "JSON nested too deeply", line[:500])
                continue
            if not isinstance(value, dict):
                yield Record(number, None, "not a JSON object", line[:500])
                continue
            yield Record(number, value)


def _read_task_json(path: Path, progress: Progress) -> Iterator[Record]:
    text, raw = _open_text(path)
    with raw, text:
        try:
            data = json.loads(_clean_text(path, text))
        except json.JSONDecodeError as exc:
            raise FileRefused(
                f"{path}: not valid JSON (truncated?) at line {exc.lineno} column {exc.colno}: "
                f"{exc.msg}"
            ) from None
        except (EOFError, OSError) as exc:
            raise FileRefused(f"{path}: cannot read ({exc})") from None
        except RecursionError:
            raise FileRefused(f"{path}: JSON nested too deeply to be a Salesforce export") \
                from None
        progress.done = progress.total
    for number, record in enumerate(_task_records(path, data), start=1):
        if isinstance(record, dict):
            yield Record(number, record)
        else:
            yield Record(number, None, "not a JSON object", json.dumps(record)[:500])


def _clean_text(path: Path, text: IO[str]) -> str:
    """All of ``text``; ``FileRefused`` naming the line of a byte that is not UTF-8 (a Task
    file is stored whole or not at all)."""
    marked, body = bad_bytes(), text.read()
    if bad_bytes() != marked:
        for number, line in enumerate(body.splitlines(), start=1):
            found = not_utf8((line,), ())
            if found:
                raise FileRefused(f"{path}: line {number} is {found[1]}")
    return body


def _task_records(path: Path, data: Any) -> list[Any]:
    """Records from a query page, a list of pages or a list of records."""
    if isinstance(data, dict):
        if isinstance(data.get("records"), list):
            return list(data["records"])
        raise FileRefused(f"{path}: JSON object without a 'records' list")
    if not isinstance(data, list):
        raise FileRefused(f"{path}: JSON is neither a query page nor a list")
    if data and all(isinstance(p, dict) and isinstance(p.get("records"), list) for p in data):
        return [r for page in data for r in page["records"]]
    return data
