"""``calltui doctor``'s checks against the fake org over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from calltui.doctor import Check, run_doctor
from calltui.fakeorg import FakeOrg
from calltui.sf.auth import Credentials
from calltui.sf.client import SalesforceClient
from tests.test_sync import NOW, call_task, client_for, password_creds


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_recent_calls_are_those_created_in_the_last_30_days_not_modified() -> None:
    with FakeOrg() as org:
        org.set_now(NOW)
        org.add_tasks([
            call_task(1, NOW - timedelta(days=10)),  # made (and last modified) 10 days ago
            {**call_task(2, NOW - timedelta(days=5)),  # made 60 days ago, modified since
             "CreatedDate": (NOW - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")},
        ])
        checks = by_name(run_doctor(client_for(org), now=NOW))
    assert checks["call Tasks created, last 30 days"] == Check(
        "call Tasks created, last 30 days", True, "1")
    assert all(check.ok for check in checks.values())


def test_an_api_version_the_org_does_not_offer_fails_that_check() -> None:
    with FakeOrg() as org:
        creds = password_creds(org)
        client = SalesforceClient(Credentials(**{**vars(creds), "api_version": "99.0"}),
                                  backoff=0.0)
        checks = run_doctor(client, now=NOW)
    assert [(c.name, c.ok) for c in checks] == [("login", True), ("API version", False)]
    assert "no such resource at API v99.0" in checks[1].detail
