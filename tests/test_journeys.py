"""SPEC §5: person keys, touches, positions and U-shaped credit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from calltui.journeys import assign_positions, build_touchpoints
from calltui.models import FormSubmit, Touchpoint, WebSession
from calltui.rules import match_calls
from tests.test_rules import call

A = "a" * 32
B = "b" * 32
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sess(sid: str, cookie: str, minutes: float) -> WebSession:
    return WebSession(sid, cookie, T0 + timedelta(minutes=minutes), channel="Direct")


def touch(tid: str, kind: str, minutes: float) -> Touchpoint:
    return Touchpoint(tid, kind, "P", T0 + timedelta(minutes=minutes), None)  # type: ignore[arg-type]


def positions(touches: list[Touchpoint]) -> list[tuple[str, str | None, float]]:
    return [(t.touchpoint_id, t.position, t.u_shaped_credit) for t in assign_positions(touches)]


def test_ft_and_lc_with_nothing_between_get_half_each() -> None:
    assert positions([touch("call", "call_task", 60), touch("visit", "first_visit", 0)]) == [
        ("visit", "FT", 0.5), ("call", "LC", 0.5)]


def test_one_touch_that_is_ft_and_lc_gets_everything() -> None:
    assert positions([touch("call", "call_session", 5), touch("form", "web_form", 50)]) == [
        ("call", "FT, LC", 1.0), ("form", "PostLC", 0.0)]


def test_touches_between_ft_and_lc_share_twenty_percent() -> None:
    touches = [touch("visit", "first_visit", 0), touch("v2", "first_visit", 10),
               touch("v3", "first_visit", 20), touch("call", "call_task", 30),
               touch("late", "call_task", 40)]
    assert positions(touches) == [("visit", "FT", 0.4), ("v2", None, 0.1), ("v3", None, 0.1),
                                  ("call", "LC", 0.4), ("late", "PostLC", 0.0)]


def test_person_journey_across_cookies_and_calls() -> None:
    """Two cookies of one WhoId; a first visit, a form, a merged call and a later call."""
    sessions = {A: [sess("SA1", A, 0), sess("SA2", A, 120)], B: [sess("SB1", B, 30)]}
    calls = [
        call(T0 + timedelta(minutes=125), A, task_id="T1", who_id="00Q1"),
        call(T0 + timedelta(minutes=300), B, task_id="T2", who_id="00Q1"),
        call(T0 + timedelta(minutes=400), B, task_id="T3", who_id=None),
    ]
    outcomes = match_calls(calls, sessions)
    forms = {B: [FormSubmit("F1", B, "SB1", T0 + timedelta(minutes=35)),
                 FormSubmit("F2", B, "SB1", T0 + timedelta(minutes=36))]}
    by_id = {s.session_id: s for ss in sessions.values() for s in ss}
    touches = build_touchpoints(outcomes, sessions, forms, by_id)
    got = [(t.touchpoint_id, t.kind, t.person_key, t.position, t.u_shaped_credit)
           for t in touches]
    assert got == [
        ("visit-SA1", "first_visit", "00Q1", "FT", 0.5),
        ("form-F1", "web_form", "00Q1", "LC", 0.5),
        ("call-T1", "call_session", "00Q1", "PostLC", 0.0),
        ("call-T2", "call_task", "00Q1", "PostLC", 0.0),
        ("call-T3", "call_task", "00Q1", "PostLC", 0.0),
    ]


def test_cookie_is_the_person_when_no_call_has_a_whoid() -> None:
    sessions = {A: [sess("SA1", A, 0)]}
    outcomes = match_calls([call(T0 + timedelta(minutes=10), A, who_id=None)], sessions)
    [t] = build_touchpoints(outcomes, sessions, {}, {"SA1": sessions[A][0]})
    assert (t.person_key, t.kind, t.position, t.u_shaped_credit) == (A, "call_session",
                                                                     "FT, LC", 1.0)


def test_calls_without_touchpoint_are_no_touches() -> None:
    outcomes = match_calls([call(T0, None), call(T0, A, is_deleted=True)], {})
    assert build_touchpoints(outcomes, {}, {}, {}) == []


@given(st.lists(st.tuples(st.sampled_from(["first_visit", "web_form", "call_session",
                                           "call_task"]), st.integers(0, 50)),
                min_size=1, max_size=12))
def test_credit_sums_to_one_and_positions_follow_the_rules(
    drawn: list[tuple[str, int]]
) -> None:
    touches = assign_positions([touch(f"t{i}", kind, minutes)
                                for i, (kind, minutes) in enumerate(drawn)])
    assert abs(sum(t.u_shaped_credit for t in touches) - 1.0) < 1e-5
    assert touches[0].position in ("FT", "FT, LC")
    lc = [i for i, t in enumerate(touches) if t.position and "LC" in t.position.split(", ")]
    lc_kinds = [i for i, t in enumerate(touches) if t.kind != "first_visit"]
    assert lc == lc_kinds[:1]  # LC is the first form or call, if any
    for i, t in enumerate(touches):
        after_lc = bool(lc) and i > lc[0]
        assert (t.position == "PostLC") == (after_lc and t.kind != "first_visit")
        if t.position == "PostLC" or (after_lc and t.kind == "first_visit"):
            assert t.u_shaped_credit == 0.0
