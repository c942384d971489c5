"""The demo's data: as many call Tasks as asked for, the same for the same seed."""

from __future__ import annotations

from calltui.demo import make_demo_data


def test_the_demo_makes_exactly_the_calls_asked_for() -> None:
    """A duplicate-call scenario adds two Tasks: 45,000 with seed 7 gave 45,001."""
    assert len(make_demo_data(45_000, 7).tasks) == 45_000
    for calls in (10, 11, 999, 3000):
        assert len(make_demo_data(calls, 7).tasks) == calls


def test_the_same_seed_gives_the_same_tasks() -> None:
    assert make_demo_data(200, 3).tasks == make_demo_data(200, 3).tasks
    assert make_demo_data(200, 3).tasks != make_demo_data(200, 4).tasks
