"""calltui.tui.filters: the filter line's words, quotes and errors."""

from __future__ import annotations

import pytest

from calltui.tui.filters import FilterError, parse_filter


def test_double_quotes_group_a_value_with_spaces() -> None:
    f = parse_filter('type:"Web Visit" status:outside_window')
    assert (f.task_type, f.statuses) == ("Web Visit", ("outside_window",))


def test_an_apostrophe_is_part_of_a_search_word() -> None:
    assert parse_filter("o'brien 00T5g").search == "o'brien 00T5g"


def test_a_backslash_is_kept_as_typed() -> None:
    assert parse_filter(r"acme\west").search == r"acme\west"


@pytest.mark.parametrize(("text", "error"), [
    ('type:"Web Visit', 'filter: a " is not closed'),
    ("stauts:foo", "no filter stauts: here (use status:, flag:, from:, to:, channel:, "
                   "type:, vendor: or plain words)"),
    ("from:2026-13-01", "from: '2026-13-01' is not a day like 2026-01-31"),
])
def test_bad_filters_say_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert str(caught.value) == error
