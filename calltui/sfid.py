"""Salesforce record Ids: the 15-character form admins copy from URLs, and the 18-character one."""

from __future__ import annotations

import re

__all__ = ["to_18"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[A-Za-z0-9]{15}$")


def to_18(record_id: str) -> str:
    """The case-safe 18-character Id of a 15-character one (other input comes back as is).

    Each 5-character chunk adds one suffix character whose bits say which of its
    letters are capitals.
    """
    if not _ID15.match(record_id):
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        chunk = record_id[start : start + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _ALPHABET[bits]
    return record_id + suffix
