"""Helpers for thread workers: reach the app safely and report errors in one line."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from textual.app import App

__all__ = ["call_app", "one_line"]


def one_line(exc: BaseException) -> str:
    """An error as one short line for a notification."""
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    return (message[:157] + "...") if len(message) > 160 else message


def call_app(app: App[Any], callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """``app.call_from_thread`` that does nothing once the app has stopped."""
    with suppress(RuntimeError):  # the app is not running any more
        app.call_from_thread(callback, *args, **kwargs)
