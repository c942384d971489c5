"""The CLI's one rule for tables that stay readable at any terminal width.

Rich, given a table wider than the terminal, shrinks every column alike: at 80 columns
it cut short columns to nothing and folded status names into 3-letter slices. Here
each column says how it may give way (``Col.fit``); a column is never narrower than
its header, a column that never wraps keeps its longest value whole, and when even
that is too wide the columns of least value are left out (and the caller says so).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

__all__ = ["Col", "Fitted", "fit_table", "print_fitted"]

Fit = Literal["fixed", "words", "wrap", "clip"]
"""How a column gives way when the terminal is narrow:

- ``fixed``: never; one line, as wide as its longest value (statuses, counts, times);
- ``words``: wraps between words, never inside one (flags, channels);
- ``wrap``: wraps between words and folds a long word; whole, on more lines (ids, paths);
- ``clip``: one line, cut with an ellipsis (free text: subjects)."""

LEAST = 18
"""The narrowest a ``wrap`` or ``clip`` column gets: an 18-character Salesforce ID."""


@dataclass(frozen=True)
class Col:
    name: str
    fit: Fit = "fixed"
    justify: JustifyMethod = "left"
    least: int = LEAST  # for ``wrap`` and ``clip``: the narrowest it gets


@dataclass(frozen=True)
class Fitted:
    table: Table
    left_out: tuple[str, ...]  # column names, in display order
    width: int  # the width it was fitted to


@dataclass(frozen=True)
class _Measure:
    least: int
    natural: int
    empty: bool  # no row has a value here


def _measure(col: Col, values: Sequence[str]) -> _Measure:
    header = cell_len(col.name)
    natural = max([header, *map(cell_len, values)])
    if col.fit == "fixed":
        least = natural
    elif col.fit == "words":
        least = max([header, *(cell_len(word) for value in values for word in value.split())])
    else:
        least = max(header, col.least)
    return _Measure(min(least, natural), natural, not any(values))


def _frame(columns: int, compact: bool) -> int:
    """Cells taken by borders and padding: ``┃ a ┃ b ┃``, or ``a  b`` when compact."""
    return 2 * (columns - 1) if compact else 3 * columns + 1


def _fits(least: Sequence[int], compact: bool, width: int) -> bool:
    return sum(least) + _frame(len(least), compact) <= width


def _choose(measures: Sequence[_Measure], ranked: Sequence[int], width: int,
            compact: bool) -> list[int]:
    """The columns kept (display order): all when they fit; else the most valuable first,
    each one that fits, and none without a value (it would only take room)."""
    if _fits([m.least for m in measures], compact, width):
        return sorted(ranked)
    kept = [ranked[0]]
    for index in ranked[1:]:
        if not measures[index].empty and _fits([measures[i].least for i in [*kept, index]],
                                               compact, width):
            kept.append(index)
    return sorted(kept)


def _spread(measures: Sequence[_Measure], room: int) -> list[int]:
    """Widths from the least: the room goes a cell at a time to the narrowest column
    that is short of its longest value."""
    widths = [m.least for m in measures]
    while room > 0:
        short = [i for i, m in enumerate(measures) if widths[i] < m.natural]
        if not short:
            break
        widths[min(short, key=lambda i: widths[i])] += 1
        room -= 1
    return widths


def _ranked(columns: Sequence[Col], keep: Sequence[str]) -> list[int]:
    """Column indexes, most valuable first: ``keep``'s, then the rest."""
    names = [c.name for c in columns]
    order = [names.index(name) for name in keep]
    return order + [i for i in range(len(columns)) if i not in order]


def fit_table(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int, *, title: str = "",
    keep: Sequence[str] = (), compact: bool = False, end_sections: Collection[int] = (),
) -> Fitted:
    """A table of ``rows`` (cells as plain text, never markup) no wider than ``width``.

    ``keep`` names the columns in the order they stay when not all fit (the rest follow
    in display order; the first always stays, a column without a value goes). When all
    fit at their least widths the table is boxed, else drawn compact (no side borders)
    to keep more columns. ``end_sections`` are indexes of rows that a rule follows."""
    measures = [_measure(c, [row[i] for row in rows]) for i, c in enumerate(columns)]
    if not compact and not _fits([m.least for m in measures], False, width):
        compact = True
    kept = _choose(measures, _ranked(columns, keep), width, compact)
    shown = [measures[i] for i in kept]
    room = width - _frame(len(kept), compact) - sum(m.least for m in shown)
    table = Table(title=title or None, box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  show_edge=not compact, pad_edge=not compact, collapse_padding=compact)
    for index, cells in zip(kept, _spread(shown, room), strict=True):
        col = columns[index]
        table.add_column(col.name, width=cells, justify=col.justify,
                         no_wrap=col.fit in ("fixed", "clip"),
                         overflow="ellipsis" if col.fit == "clip" else "fold")
    for number, row in enumerate(rows):
        table.add_row(*(Text(row[i]) for i in kept), end_section=number in end_sections)
    left_out = tuple(c.name + (" (empty)" if measures[i].empty else "")
                     for i, c in enumerate(columns) if i not in kept)
    return Fitted(table, left_out, width)


def print_fitted(console: Console, fitted: Fitted, notes: Console,
                 hint: str = "widen the terminal or use --format csv") -> None:
    """The table on ``console``; on ``notes`` which columns were left out, if any."""
    console.print(fitted.table)
    if fitted.left_out:
        n = len(fitted.left_out)
        notes.print(f"{n} column{'s' if n > 1 else ''} left out at {fitted.width} columns "
                    f"({', '.join(fitted.left_out)}): {hint}", markup=False, highlight=False)
