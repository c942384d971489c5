"""SPEC §5: people, their touches in time order, positions and U-shaped credit.

Pure functions over ``models``. Journeys are built for every person with at
least one call touchpoint; cookies that never called are outside calltui's
scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from calltui.models import FormSubmit, Outcome, Status, Touchpoint, WebSession
from calltui.normalize import is_blank
from calltui.rules import WEB_VISIT

__all__ = ["CALL_KINDS", "assign_positions", "build_touchpoints", "person_of_cookies"]

CALL_KINDS = frozenset({"call_session", "call_task"})
_LC_KINDS = CALL_KINDS | {"web_form"}
_KIND_ORDER = {"first_visit": 0, "web_form": 1, "call_session": 2, "call_task": 2}
_WITH_TOUCHPOINT = frozenset(
    {Status.MATCHED, Status.OUTSIDE_WINDOW, Status.CALL_BEFORE_SESSION, Status.UNKNOWN_BIZIBLE_ID}
)


def person_of_cookies(outcomes: Iterable[Outcome]) -> dict[str, str]:
    """Cookie -> WhoId of the earliest non-deleted call with that cookie and a WhoId."""
    earliest: dict[str, tuple[object, str]] = {}
    for o in outcomes:
        call = o.call
        if call.is_deleted or call.bizible_id is None or is_blank(call.who_id):
            continue
        key = (call.call_at, call.task_id)
        current = earliest.get(call.bizible_id)
        if current is None or key < current[0]:  # type: ignore[operator]
            earliest[call.bizible_id] = (key, str(call.who_id))
    return {cookie: who for cookie, (_, who) in earliest.items()}


def build_touchpoints(
    outcomes: Sequence[Outcome],
    sessions_by_cookie: Mapping[str, Sequence[WebSession]],
    forms_by_cookie: Mapping[str, Sequence[FormSubmit]],
    sessions_by_id: Mapping[str, WebSession],
) -> list[Touchpoint]:
    """Every touchpoint of every person who called, with positions and credit."""
    owner = person_of_cookies(outcomes)
    touches: dict[str, list[Touchpoint]] = defaultdict(list)
    for o in outcomes:
        if o.status in _WITH_TOUCHPOINT:
            person = _person(o, owner)
            touches[person].append(_call_touch(o, person))
    cookies: dict[str, set[str]] = defaultdict(set)
    for o in outcomes:
        if o.call.bizible_id is not None:
            person = owner.get(o.call.bizible_id, o.call.bizible_id)
            if person in touches:
                cookies[person].add(o.call.bizible_id)
    out: list[Touchpoint] = []
    for person, person_touches in touches.items():
        mine = sorted(cookies[person])
        person_touches.extend(_form_touches(person, mine, forms_by_cookie, sessions_by_id))
        visit = _first_visit(person, mine, sessions_by_cookie, person_touches)
        if visit is not None:
            person_touches.append(visit)
        out.extend(assign_positions(person_touches))
    return out


def _person(o: Outcome, owner: Mapping[str, str]) -> str:
    if not is_blank(o.call.who_id):
        return str(o.call.who_id)
    cookie = o.call.bizible_id or ""
    return owner.get(cookie, cookie)


def _call_touch(o: Outcome, person: str) -> Touchpoint:
    session = o.session
    return Touchpoint(
        touchpoint_id=f"call-{o.call.task_id}",
        kind="call_session" if session else "call_task",
        person_key=person,
        touchpoint_date=o.call.call_at,
        touchpoint_type=o.touchpoint_type,
        task_id=o.call.task_id,
        session_id=session.session_id if session else None,
        medium=o.medium,
        channel=o.channel,
        source=o.source,
        campaign=o.campaign,
        landing_page=session.landing_page if session else None,
        referrer_page=session.referrer_page if session else None,
    )


def _web_touch(
    touch_id: str, kind: str, person: str, session: WebSession | None, at: object, type_: str
) -> Touchpoint:
    return Touchpoint(
        touchpoint_id=touch_id,
        kind=kind,  # type: ignore[arg-type]
        person_key=person,
        touchpoint_date=at,  # type: ignore[arg-type]
        touchpoint_type=type_,
        session_id=session.session_id if session else None,
        medium=session.medium if session else None,
        channel=session.channel if session else None,
        source=session.source if session else None,
        campaign=session.campaign if session else None,
        landing_page=session.landing_page if session else None,
        referrer_page=session.referrer_page if session else None,
    )


def _form_touches(
    person: str, cookies: Sequence[str], forms_by_cookie: Mapping[str, Sequence[FormSubmit]],
    sessions_by_id: Mapping[str, WebSession],
) -> list[Touchpoint]:
    """The first form submit of each session (one touchpoint per session).

    The session lends its web data only when it is the form's cookie's own: a form
    pointing at another cookie's session is bad data, and a journey must depend on
    its own cookies alone (an incremental match recomputes nothing else).
    """
    first: dict[str, FormSubmit] = {}
    for cookie in cookies:
        for form in forms_by_cookie.get(cookie, ()):
            current = first.get(form.session_id)
            if current is None or (form.submitted_at, form.form_id) < (
                current.submitted_at, current.form_id
            ):
                first[form.session_id] = form
    return [
        _web_touch(f"form-{f.form_id}", "web_form", person, _own_session(f, sessions_by_id),
                   f.submitted_at, "Web Form")
        for f in first.values()
    ]


def _own_session(form: FormSubmit, sessions_by_id: Mapping[str, WebSession]) -> WebSession | None:
    session = sessions_by_id.get(form.session_id)
    return session if session is not None and session.cookie_id == form.cookie_id else None


def _first_visit(
    person: str, cookies: Sequence[str], sessions_by_cookie: Mapping[str, Sequence[WebSession]],
    touches: Sequence[Touchpoint],
) -> Touchpoint | None:
    """The person's first session, unless a call or form touch already carries it."""
    candidates = [s for c in cookies for s in sessions_by_cookie.get(c, ())[:1]]
    if not candidates:
        return None
    first = min(candidates, key=lambda s: (s.started_at, s.session_id))
    if any(t.session_id == first.session_id for t in touches):
        return None
    return _web_touch(f"visit-{first.session_id}", "first_visit", person, first,
                      first.started_at, WEB_VISIT)


def assign_positions(touches: list[Touchpoint]) -> list[Touchpoint]:
    """Sort one person's touches and set FT, LC, PostLC and U-shaped credit."""
    touches.sort(key=lambda t: (t.touchpoint_date, _KIND_ORDER[t.kind], t.touchpoint_id))
    if not touches:
        return touches
    lc = next((i for i, t in enumerate(touches) if t.kind in _LC_KINDS), None)
    for i, touch in enumerate(touches):
        labels = []
        if i == 0:
            labels.append("FT")
        if i == lc:
            labels.append("LC")
        elif lc is not None and i > lc and touch.kind in _LC_KINDS:
            labels.append("PostLC")
        touch.position = ", ".join(labels) or None
        touch.u_shaped_credit = 0.0
    _u_shaped(touches, lc)
    return touches


def _u_shaped(touches: list[Touchpoint], lc: int | None) -> None:
    """FT 40 %, LC 40 %, 20 % over the touches between; 50/50 with none; 100 % if FT is LC."""
    if lc is None or lc == 0:
        touches[0].u_shaped_credit = 1.0
        return
    middle = touches[1:lc]
    if not middle:
        touches[0].u_shaped_credit = touches[lc].u_shaped_credit = 0.5
        return
    touches[0].u_shaped_credit = touches[lc].u_shaped_credit = 0.4
    for touch in middle:
        touch.u_shaped_credit = round(0.2 / len(middle), 6)
