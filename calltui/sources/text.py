"""The text of input files: which encoding, and the bytes that are not in it.

calltui reads UTF-8 (with or without a byte-order mark), and UTF-16 or UTF-32 with
one (Excel's "Unicode Text"). Other encodings are refused by name when most of a
file's first lines are not UTF-8; a stray byte mid-file is decoded as a marker
(one lone surrogate per byte, as ``surrogateescape`` does), counted, and the row
that holds it is rejected by the reader. Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Sequence

__all__ = ["bad_bytes", "encoding_of", "encoding_problem", "not_utf8", "printable"]

ERRORS = "calltui-mark-bad-bytes"
"""The ``errors=`` of every text stream of an input file."""
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_MARKS = re.compile("[\udc00-\udcff]")
_count = threading.local()  # bytes marked in this thread: each import reads in one thread


def _mark(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    _count.value = bad_bytes() + len(bad)
    return "".join(chr(0xDC00 + b) for b in bad), exc.end


codecs.register_error(ERRORS, _mark)


def bad_bytes() -> int:
    """How many bytes this thread's input streams held that their encoding does not."""
    return getattr(_count, "value", 0)


def encoding_of(head: bytes) -> str:
    """The codec for a file starting with ``head``: by its byte-order mark, else UTF-8."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8-sig"


def encoding_problem(head: bytes) -> str | None:
    """Why a file starting with ``head`` (no UTF-16/32 byte-order mark) cannot be read as
    UTF-8, naming the likely encoding, or None. One stray byte is no reason: its row is
    rejected; two lines of the first ones, or every line, are."""
    lines = head.split(b"\n")
    if len(lines) > 1:
        lines.pop()  # may be cut in the middle of a character
    if head.count(b"\x00") * 4 > len(head):
        return "it looks like UTF-16 without a byte-order mark"
    bad = [(n, line) for n, line in enumerate(lines, start=1) if not _is_utf8(line)]
    if not bad or (len(bad) < 2 and len(bad) < len(lines)):
        return None
    number, line = bad[0]
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = line[exc.start]
    return (f"it looks like Windows-1252 or Latin-1 (line {number} has byte 0x{byte:02x}, "
            f"{bytes([byte]).decode('cp1252', 'replace')!r} in that encoding)")


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def not_utf8(values: Sequence[str], names: Sequence[str]) -> tuple[int, str, str | None] | None:
    """For a row holding marked bytes: how many, the reason and the field of the first;
    None for a clean row."""
    count, first = 0, None
    for index, value in enumerate(values):
        marks = _MARKS.findall(value)
        if marks and first is None:
            first = (index, ord(marks[0]) - 0xDC00)
        count += len(marks)
    if first is None:
        return None
    index, byte = first
    column = names[index].strip() if index < len(names) else None
    where = f" in {column}" if column else ""
    return (count, f"not UTF-8 (byte 0x{byte:02x}{where}): save the file as UTF-8 and "
            "import it again", column)


def printable(text: str) -> str:
    """``text`` with its marked bytes shown as U+FFFD, fit to be stored."""
    return _MARKS.sub("\ufffd", text)
