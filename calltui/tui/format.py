"""Plain-text forms of stored values for tables and the detail view."""

from __future__ import annotations

from typing import Any

__all__ = ["cell", "flags_text", "human_gap", "short_ts"]

_UNITS = (("d", 86400), ("h", 3600), ("min", 60))


def human_gap(seconds: float | None) -> str:
    """A gap in seconds as two units, e.g. ``47 min 56 s``, ``-2 h 5 min``; ``—`` for none."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    rest = abs(float(seconds))
    parts: list[str] = []
    for name, size in _UNITS:
        if rest >= size or parts:
            whole = int(rest // size)
            parts.append(f"{whole} {name}")
            rest -= whole * size
        if len(parts) == 2:
            return sign + " ".join(parts)
    secs = f"{rest:.3f}".rstrip("0").rstrip(".") if rest % 1 else f"{int(rest)}"
    return sign + " ".join([*parts, f"{secs} s"])


def short_ts(value: str | None) -> str:
    """``2026-01-05T13:05:00.000Z`` as ``2026-01-05 13:05:00`` (milliseconds kept when not 0)."""
    if not value:
        return ""
    text = value.rstrip("Z").replace("T", " ")
    return text[:-4] if text.endswith(".000") else text


def cell(value: Any) -> str:
    """Any stored value as table text: ``None`` is empty, floats lose trailing zeros."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def flags_text(value: str | None) -> str:
    """The stored comma-separated flags, readable: ``type_blank, no_person``."""
    return ", ".join(f for f in (value or "").split(",") if f)
