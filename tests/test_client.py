"""SalesforceClient's messages against the fake org over real HTTP: they blame what is at
fault, name the endpoint, and hold no secret."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from calltui.fakeorg import FakeOrg
from calltui.sf.auth import credentials_from_env
from calltui.sf.client import SalesforceClient, SyncError, one_line


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_session_id_says_to_get_a_new_one(org: FakeOrg) -> None:
    creds = credentials_from_env({"SF_SESSION_ID": "00D!bogus", "SF_INSTANCE_URL": org.url})
    client = SalesforceClient(creds, backoff=0.0)
    with pytest.raises(SyncError) as info:
        client.describe_task()
    assert str(info.value) == ("describe Task: Salesforce refused the session id "
                               "(SF_SESSION_ID): it has expired or was revoked; get a new one")
    assert "00D!bogus" not in str(info.value)
    assert org.logins == 0  # no login was tried: there is none with a session id


def test_a_refused_session_id_names_the_login_set_up_beside_it(org: FakeOrg) -> None:
    """A stale SF_SESSION_ID left in the shell won over a working password login."""
    creds = credentials_from_env({"SF_SESSION_ID": "00D!bogus", "SF_INSTANCE_URL": org.url,
                                  "SF_USERNAME": org.username, "SF_PASSWORD": org.password})
    with pytest.raises(SyncError) as info:
        SalesforceClient(creds, backoff=0.0).describe_task()
    assert str(info.value) == (
        "describe Task: Salesforce refused the session id (SF_SESSION_ID): it has expired or "
        "was revoked; get a new one, or unset SF_SESSION_ID to log in with SF_USERNAME + "
        "SF_PASSWORD (set too; an existing session comes first)")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_unreachable_instance_is_named(scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{free_port()}"
    creds = credentials_from_env({"SF_SESSION_ID": "00D!x", "SF_INSTANCE_URL": url})
    client = SalesforceClient(creds, backoff=0.0)
    with pytest.raises(SyncError) as info:
        client.describe_task()
    assert str(info.value) == (f"describe Task: cannot reach {url}: connection refused "
                               "after 3 retries")


def test_an_instance_that_went_away_after_login_is_named() -> None:
    with FakeOrg() as fake:
        client = SalesforceClient(credentials_from_env({
            "SF_USERNAME": fake.username, "SF_PASSWORD": fake.password,
            "SF_SECURITY_TOKEN": fake.security_token, "SF_LOGIN_URL": fake.url}), backoff=0.0)
        url = fake.url
    client.session.close()  # drop the kept-alive connection to the stopped org
    with pytest.raises(SyncError) as info:
        client.limits()
    assert str(info.value) == f"limits: cannot reach {url}: connection refused after 3 retries"


def test_an_api_version_the_org_does_not_offer_is_named(org: FakeOrg) -> None:
    creds = credentials_from_env({"SF_LOGIN_URL": org.url, "SF_USERNAME": org.username,
                                  "SF_PASSWORD": org.password,
                                  "SF_SECURITY_TOKEN": org.security_token, "SF_API_VERSION": "99"})
    client = SalesforceClient(creds, backoff=0.0)
    with pytest.raises(SyncError) as info:
        client.describe_task()
    assert str(info.value) == (
        "describe Task: Salesforce has no such resource at API v99.0 (NOT_FOUND): check "
        "SF_API_VERSION, the org may not offer that version")


def test_salesforce_s_query_errors_are_one_line_with_their_place() -> None:
    message = ("\nSELECT Id, Subjct FROM Task WHERE\n           ^\nERROR at Row:1:Column:12\n"
               "No such column 'Subjct' on entity 'Task'. If you are attempting to use a "
               "custom field, be sure to append the '__c'.")
    assert one_line(message) == (
        "No such column 'Subjct' on entity 'Task'. If you are attempting to use a custom "
        "field, be sure to append the '__c'. (row 1, column 12 of the query)")
    assert one_line("Session expired or invalid") == "Session expired or invalid"
    assert one_line("first\n  second\n") == "first second"
