"""15- to 18-character Salesforce Ids."""

from __future__ import annotations

import pytest

from calltui.sfid import to_18


@pytest.mark.parametrize(("id15", "id18"), [
    ("001A0000006Vm9r", "001A0000006Vm9rIAC"),  # the example in Salesforce's docs
    ("00T5g00000AbCdE", "00T5g00000AbCdEEAV"),
    ("001000000000000", "001000000000000AAA"),
    ("ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"),
    ("aBcDeFgHiJkLmNo", "aBcDeFgHiJkLmNoKVK"),
])
def test_to_18(id15: str, id18: str) -> None:
    assert to_18(id15) == id18


def test_other_input_is_returned_unchanged() -> None:
    assert to_18("00T5g00000AbCdEAAV") == "00T5g00000AbCdEAAV"
    assert to_18("short") == "short"
