"""SPEC §1 rules and the statuses and flags of §4, on the pure matcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calltui.models import Call, Flag, MatchOptions, Status, WebSession
from calltui.normalize import normalize_bizible_id
from calltui.rules import match_call, match_calls

COOKIE = "a3f9c2d417e84b0c9d1e5f6a7b8c9d0e"
T0 = datetime(2026, 3, 2, 12, 17, 4, tzinfo=UTC)


def call(at: datetime, bizible: str | None = COOKIE, **kw: object) -> Call:
    value, state = normalize_bizible_id(bizible)
    defaults: dict[str, object] = {"task_type": "Call", "who_id": "00Q000000000001"}
    defaults.update(kw)
    return Call(task_id=str(defaults.pop("task_id", "00T000000000001")), call_at=at,
                bizible_id=value, bizible_state=state, bizible_id_raw=bizible,
                **defaults)  # type: ignore[arg-type]


def session(sid: str, start: datetime, **kw: object) -> WebSession:
    return WebSession(session_id=sid, cookie_id=COOKIE, started_at=start, **kw)  # type: ignore[arg-type]


def test_seed_example_is_outside_the_window() -> None:
    """Ad click 12:17, call 13:05: 48 minutes, not merged (the seed's FAQ)."""
    o = match_call(call(datetime(2026, 3, 2, 13, 5, tzinfo=UTC)), [session("S1", T0)])
    assert o.status is Status.OUTSIDE_WINDOW
    assert o.compared is not None and o.compared.session_id == "S1"
    assert o.compared.gap_seconds == 2876.0
    assert (o.touchpoint_type, o.medium, o.channel, o.source) == ("Call", "Call", None,
                                                                  "Salesforce Task")


def test_window_bound_is_inclusive_to_the_millisecond() -> None:
    s = [session("S1", T0, channel="Direct")]
    exactly = match_call(call(T0 + timedelta(minutes=30)), s)
    just_after = match_call(call(T0 + timedelta(minutes=30, milliseconds=1)), s)
    assert exactly.status is Status.MATCHED
    assert just_after.status is Status.OUTSIDE_WINDOW
    assert just_after.compared is not None and just_after.compared.gap_seconds == 1800.001


def test_call_at_session_start_merges() -> None:
    assert match_call(call(T0), [session("S1", T0)]).status is Status.MATCHED


def test_matched_call_takes_web_data_and_type_from_the_task() -> None:
    s = session("S1", T0, channel="Paid Search.AdWords", medium="cpc", source="Google AdWords",
                campaign="Implants", landing_page="https://x.test/implants")
    o = match_call(call(T0 + timedelta(minutes=5)), [s])
    assert o.status is Status.MATCHED and o.session == s
    assert (o.touchpoint_type, o.medium, o.channel, o.source, o.campaign) == (
        "Call", "Call", "Paid Search.AdWords", "Google AdWords", "Implants")


def test_blank_type_gives_web_visit_and_the_session_medium() -> None:
    s = session("S1", T0, medium="social")
    o = match_call(call(T0 + timedelta(minutes=5), task_type="  "), [s])
    assert (o.touchpoint_type, o.medium) == ("Web Visit", "social")
    assert Flag.TYPE_BLANK in o.flags


def test_unmerged_blank_type_has_no_medium() -> None:
    o = match_call(call(T0, task_type=None), [])
    assert o.status is Status.UNKNOWN_BIZIBLE_ID
    assert (o.touchpoint_type, o.medium, o.channel, o.source) == ("Web Visit", None, None,
                                                                  "Salesforce Task")


def test_latest_earlier_session_is_the_one_compared() -> None:
    sessions = [session("S1", T0), session("S2", T0 + timedelta(hours=2)),
                session("S3", T0 + timedelta(hours=5))]
    o = match_call(call(T0 + timedelta(hours=2, minutes=10)), sessions)
    assert o.status is Status.MATCHED and o.session is not None
    assert o.session.session_id == "S2"
    assert o.before is not None and o.before.session_id == "S2"
    assert o.after is not None and o.after.session_id == "S3"
    assert o.after.gap_seconds == -10200.0


def test_equal_start_times_go_to_the_smaller_session_id() -> None:
    sessions = sorted([session("S9", T0), session("S10", T0), session("S5", T0)],
                      key=lambda s: (s.started_at, s.session_id))
    o = match_call(call(T0 + timedelta(minutes=1)), sessions)
    assert o.session is not None and o.session.session_id == "S10"  # "S10" < "S5" < "S9"


def test_equal_later_start_times_compare_the_smaller_id() -> None:
    later = T0 + timedelta(hours=1)
    sessions = [session("A2", later), session("B1", later)]
    o = match_call(call(T0), sessions)
    assert o.status is Status.CALL_BEFORE_SESSION
    assert o.compared is not None and o.compared.session_id == "A2"
    assert o.compared.gap_seconds == -3600.0


def test_call_before_every_session() -> None:
    o = match_call(call(T0 - timedelta(hours=5)), [session("S1", T0)])
    assert o.status is Status.CALL_BEFORE_SESSION
    assert o.touchpoint_type == "Call" and o.source == "Salesforce Task"
    assert o.before is None


def test_missing_placeholder_and_malformed_ids() -> None:
    missing = match_call(call(T0, None), [session("S1", T0)])
    placeholder = match_call(call(T0, "undefined"), [session("S1", T0)])
    malformed = match_call(call(T0, "abc"), [])
    assert missing.status is Status.MISSING_BIZIBLE_ID and missing.touchpoint_type is None
    assert placeholder.status is Status.MISSING_BIZIBLE_ID
    assert Flag.PLACEHOLDER_BIZIBLE_ID in placeholder.flags
    assert malformed.status is Status.UNKNOWN_BIZIBLE_ID
    assert Flag.MALFORMED_BIZIBLE_ID in malformed.flags


def test_deleted_task_gets_no_touchpoint() -> None:
    o = match_call(call(T0, is_deleted=True), [session("S1", T0)])
    assert o.status is Status.DELETED and o.touchpoint_type is None


def test_no_person_and_call_time_fallback_flags() -> None:
    o = match_call(call(T0, who_id=None, call_time_fallback=True), [])
    assert o.flags == (Flag.CALL_TIME_FALLBACK, Flag.NO_PERSON)


def test_duplicate_calls_within_120_seconds_both_flagged() -> None:
    calls = [
        call(T0, task_id="T1"),
        call(T0 + timedelta(seconds=120), task_id="T2"),
        call(T0 + timedelta(seconds=240, milliseconds=1), task_id="T3"),
        call(T0 + timedelta(seconds=10), COOKIE.replace("a", "b"), task_id="T4"),
        call(T0 + timedelta(seconds=5), task_id="T5", is_deleted=True),
    ]
    flagged = {o.call.task_id for o in match_calls(calls, {}) if Flag.DUPLICATE_CALL in o.flags}
    assert flagged == {"T1", "T2"}


def test_flags_are_sorted() -> None:
    o = match_call(call(T0, "0", who_id=None, task_type=None, call_time_fallback=True), [])
    assert list(o.flags) == sorted(o.flags)
    assert set(o.flags) == {Flag.CALL_TIME_FALLBACK, Flag.NO_PERSON,
                            Flag.PLACEHOLDER_BIZIBLE_ID, Flag.TYPE_BLANK}


def test_activity_anchor_extends_the_window_from_the_last_page_view() -> None:
    s = [session("S1", T0, last_activity_at=T0 + timedelta(minutes=25))]
    at = T0 + timedelta(minutes=50)
    assert match_call(call(at), s).status is Status.OUTSIDE_WINDOW
    activity = MatchOptions(anchor="activity")
    assert match_call(call(at), s, activity).status is Status.MATCHED
    assert match_call(call(at + timedelta(minutes=6)), s, activity).status is (
        Status.OUTSIDE_WINDOW)


def test_activity_anchor_without_page_views_falls_back_to_start() -> None:
    activity = MatchOptions(anchor="activity")
    o = match_call(call(T0 + timedelta(minutes=31)), [session("S1", T0)], activity)
    assert o.status is Status.OUTSIDE_WINDOW


def test_window_minutes_is_configurable() -> None:
    o = match_call(call(T0 + timedelta(minutes=45)), [session("S1", T0)],
                   MatchOptions(window_minutes=60))
    assert o.status is Status.MATCHED
