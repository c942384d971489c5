"""The CLI's table rule (calltui.tables): readable at any width, never a column cut to nothing."""

from __future__ import annotations

import pytest
from rich.console import Console

from calltui.tables import Col, fit_table, print_fitted

COLUMNS = (Col("task_id"), Col("status"), Col("flags", "words"), Col("subject", "clip"),
           Col("session_id", "wrap"), Col("gap_seconds", justify="right"))
ROWS = [["00T5g00000AbCdEAAV", "call_before_session", "duplicate_call, placeholder_bizible_id",
         "Inbound call with SATO, ALEX from the spring campaign",
         "2026-03-02:12-17-04-1180220.a3f9c2d417e84b0c", "-2876.0"],
        ["00T5g00000AbCdFAAV", "matched", "", "Call", "", "12.5"]]


def render(width: int, keep: tuple[str, ...] = ()) -> tuple[list[str], tuple[str, ...], str]:
    out = Console(width=width, record=True)
    notes = Console(width=width, record=True)
    fitted = fit_table(COLUMNS, ROWS, width, title="Calls", keep=keep)
    print_fitted(out, fitted, notes)
    return out.export_text().splitlines(), fitted.left_out, " ".join(notes.export_text().split())


@pytest.mark.parametrize("width", range(60, 201, 7))
def test_every_width_keeps_short_columns_whole_and_the_table_inside(width: int) -> None:
    lines, left_out, _ = render(width)
    assert max(len(line) for line in lines) <= width
    first = next(line for line in lines if "00T5g00000AbCdEAAV" in line)
    assert "call_before_session" in first  # one line, never 'cal|l_b|efo|re_'
    if "gap_seconds" not in left_out:
        assert "-2876.0" in first
    if "flags" not in left_out:  # wrapped between flags, never inside one
        assert "placeholder_bizible_id" in "\n".join(lines)
        assert "duplicate_call" in first


def test_wide_enough_it_is_boxed_and_whole() -> None:
    lines, left_out, notes = render(220)
    assert left_out == () and notes == ""
    assert lines[1].startswith("┏")
    assert ("│ 00T5g00000AbCdEAAV │ call_before_session │ duplicate_call, placeholder_bizible_id "
            "│ Inbound call with SATO, ALEX from the spring campaign │ "
            "2026-03-02:12-17-04-1180220.a3f9c2d417e84b0c │     -2876.0 │") in lines


def test_narrow_it_is_compact_leaves_out_the_least_valuable_and_says_so() -> None:
    lines, left_out, notes = render(80, keep=("task_id", "status", "flags", "gap_seconds"))
    assert lines[1].split() == ["task_id", "status", "flags", "gap_seconds"]
    assert left_out == ("subject", "session_id")
    assert notes == ("2 columns left out at 80 columns (subject, session_id): widen the "
                     "terminal or use --format csv")
    assert lines[3].split() == ["00T5g00000AbCdEAAV", "call_before_session", "duplicate_call,",
                                "-2876.0"]
    assert lines[4].split() == ["placeholder_bizible_id"]


def test_a_clipped_column_ends_in_an_ellipsis_and_a_wrapped_one_keeps_every_character() -> None:
    lines, left_out, _ = render(140)
    assert left_out == ()
    assert [cell.strip() for cell in lines[4].strip("│").split("│")] == [
        "00T5g00000AbCdEAAV", "call_before_session", "duplicate_call,",
        "Inbound call with SATO,…", "2026-03-02:12-17-04-1180", "-2876.0"]
    assert [cell.strip() for cell in lines[5].strip("│").split("│")] == [
        "", "", "placeholder_bizible_id", "", "220.a3f9c2d417e84b0c", ""]


def test_a_column_without_values_is_left_out_when_any_is_and_called_empty() -> None:
    columns = (Col("started_at"), Col("status"), Col("window_start"), Col("rows_upserted"),
               Col("window_end"))
    rows = [["2026-12-04T12:29:33.918Z", "ok", "", "2935", "2026-12-01T17:58:00.000Z"]]
    fitted = fit_table(columns, rows, 70, keep=("started_at", "window_start"))
    assert fitted.left_out == ("window_start (empty)", "window_end")  # there was room for
    # the empty one, not for window_end
    assert fit_table(columns, rows, 120).left_out == ()


def test_a_rule_follows_the_rows_asked_for() -> None:
    out = Console(width=40, record=True)
    out.print(fit_table((Col("channel"), Col("calls")), [["Email", "3"], ["total", "3"]], 40,
                        compact=True, end_sections=[0]).table)
    assert [line.rstrip() for line in out.export_text().splitlines()] == [
        "channel  calls", "──────────────", "Email    3", "", "total    3"]
