"""The fake org over real HTTP, driven by the real simple-salesforce client.

Nothing is mocked: each test starts a FakeOrg on 127.0.0.1 and talks to it through
``EndpointSession`` exactly as calltui will.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from calltui.fakeorg import FakeOrg, Faults
from calltui.sf.transport import EndpointSession, domain_for

T0 = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
BIZ = "bizible2__BizibleId__c"
SPEC_FIELDS = [
    "Id", "Subject", "Type", "TaskSubtype", "CallType", "CallDurationInSeconds", "Status",
    "WhoId", "WhatId", "OwnerId", "Description", "ActivityDate", "CreatedDate",
    "CompletedDateTime", "SystemModstamp", "IsDeleted", BIZ,
    "bizible2__Bizible_Touchpoint_Date__c",
]


def make_tasks(count: int, start: datetime = T0) -> list[dict[str, Any]]:
    """``count`` call Tasks, one minute apart, in wire form."""
    return [
        {"Subject": f"Call {i}", "Type": "Call", "TaskSubtype": "Call", "Status": "Completed",
         "CallDurationInSeconds": 10 * i, BIZ: f"{i:032x}",
         "CreatedDate": start + timedelta(minutes=i),
         "SystemModstamp": start + timedelta(minutes=i)}
        for i in range(count)
    ]


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as fake:
        yield fake


def login(org: FakeOrg, timeout: float = 5.0) -> Salesforce:
    """SOAP username/password/token login, as ``calltui sync`` does by default."""
    return Salesforce(username=org.username, password=org.password,
                      security_token=org.security_token,
                      session=EndpointSession(org.url, timeout=timeout),
                      domain=domain_for(org.url))


def raw(org: FakeOrg, method: str, path: str, session_id: str | None = None,
        **kwargs: Any) -> requests.Response:
    """A plain HTTP call, for checking bodies and headers byte by byte."""
    headers = kwargs.pop("headers", {})
    if session_id is not None:
        headers["Authorization"] = f"Bearer {session_id}"
    return requests.request(method, org.url + path, headers=headers, timeout=5, **kwargs)


def error_of(exc: Any) -> dict[str, Any]:
    """The first entry of the Salesforce error array carried by a client exception."""
    content = exc.content
    assert isinstance(content, list), content
    return dict(content[0])


# ====================================================================== login


def test_soap_login_ok(org: FakeOrg) -> None:
    sf = login(org)
    assert sf.sf_instance == f"127.0.0.1:{org.port}"
    assert org.logins == 1
    assert org.api_calls == 0
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0


def test_soap_login_wire_format(org: FakeOrg) -> None:
    body = ('<?xml version="1.0"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:login>'
            f"<urn:username>{org.username}</urn:username>"
            f"<urn:password>{org.password}{org.security_token}</urn:password>"
            "</urn:login></soapenv:Body></soapenv:Envelope>")
    response = raw(org, "POST", "/services/Soap/u/61.0/", data=body,
                   headers={"content-type": "text/xml", "SOAPAction": "login"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    text = response.text
    assert f"<serverUrl>https://127.0.0.1:{org.port}/services/Soap/u/61.0/00D" in text
    assert "<sessionId>00D" in text and 'xmlns="urn:partner.soap.sforce.com"' in text


def test_soap_login_bad_password(org: FakeOrg) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=org.username, password="wrong", security_token=org.security_token,
                   session=EndpointSession(org.url))
    assert info.value.code == "INVALID_LOGIN"
    assert info.value.auth_message == (
        "Invalid username, password, security token; or user locked out.")
    assert org.logins == 0
    response = raw(org, "POST", "/services/Soap/u/59.0", data="<not xml")
    assert response.status_code == 500 and "soapenv:Fault" in response.text


def test_soap_login_missing_token_is_refused(org: FakeOrg) -> None:
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(username=org.username, password=org.password, security_token="",
                   session=EndpointSession(org.url))


def test_empty_security_token() -> None:
    with FakeOrg(security_token="") as org:
        sf = Salesforce(username=org.username, password=org.password, security_token="",
                        session=EndpointSession(org.url))
        assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0
        assert org.logins == 1


def test_oauth_password_flow(org: FakeOrg) -> None:
    sf = Salesforce(username=org.username, password=org.password,
                    consumer_key=org.consumer_key, consumer_secret=org.consumer_secret,
                    session=EndpointSession(org.url))
    assert sf.sf_instance == f"127.0.0.1:{org.port}"
    assert sf.query("SELECT COUNT() FROM Task")["done"] is True
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=org.username, password=org.password,
                   consumer_key=org.consumer_key, consumer_secret="nope",
                   session=EndpointSession(org.url))
    assert info.value.code == "invalid_client"
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=org.username, password="bad", consumer_key=org.consumer_key,
                   consumer_secret=org.consumer_secret, session=EndpointSession(org.url))
    assert (info.value.code, info.value.auth_message) == (
        "invalid_grant", "authentication failure")


def test_oauth_token_wire_format(org: FakeOrg) -> None:
    response = raw(org, "POST", "/services/oauth2/token", data={
        "grant_type": "password", "client_id": "CK", "client_secret": "CS",
        "username": org.username, "password": org.password})
    body = response.json()
    assert body["instance_url"] == f"https://127.0.0.1:{org.port}"
    assert body["token_type"] == "Bearer" and body["access_token"]
    assert body["issued_at"].isdigit()
    bad = raw(org, "POST", "/services/oauth2/token", data={"grant_type": "magic"})
    assert bad.status_code == 400 and bad.json()["error"] == "unsupported_grant_type"


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_jwt_bearer_flow() -> None:
    private, public = _rsa_pair()
    other_private, _ = _rsa_pair()
    with FakeOrg(public_key_pem=public) as org:
        sf = Salesforce(username=org.username, consumer_key=org.consumer_key,
                        privatekey=private, session=EndpointSession(org.url))
        assert sf.auth_type == "jwt-bearer"
        assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0
        with pytest.raises(SalesforceAuthenticationFailed) as info:
            Salesforce(username=org.username, consumer_key=org.consumer_key,
                       privatekey=other_private, session=EndpointSession(org.url))
        assert info.value.code == "invalid_grant"
        with pytest.raises(SalesforceAuthenticationFailed) as info:
            Salesforce(username=org.username, consumer_key="someone-else",
                       privatekey=private, session=EndpointSession(org.url))
        assert info.value.code == "invalid_client_id"
        with pytest.raises(SalesforceAuthenticationFailed):
            Salesforce(username="other@example.test", consumer_key=org.consumer_key,
                       privatekey=private, session=EndpointSession(org.url))
        assert org.logins == 1


def test_client_credentials_flow(org: FakeOrg) -> None:
    sf = Salesforce(consumer_key=org.consumer_key, consumer_secret=org.consumer_secret,
                    domain="acme.my", session=EndpointSession(org.url))
    assert sf.auth_type == "client-credentials"
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(consumer_key=org.consumer_key, consumer_secret="wrong", domain="acme.my",
                   session=EndpointSession(org.url))
    assert info.value.code == "invalid_client"


def test_direct_session_id_and_instance_url(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(2))
    sf = Salesforce(session_id=org.issue_session_id(), instance_url=org.url,
                    session=EndpointSession(org.url))
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 2
    assert org.logins == 0


def test_expired_direct_session_raises(org: FakeOrg) -> None:
    sf = Salesforce(session_id=org.issue_session_id(), instance_url=org.url,
                    session=EndpointSession(org.url))
    org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT Id FROM Task")
    assert error_of(info.value) == {"message": "Session expired or invalid",
                                    "errorCode": "INVALID_SESSION_ID"}


# ====================================================================== REST query


def test_query_paging_follows_next_records_url() -> None:
    with FakeOrg(page_size=2) as org:
        org.add_tasks(make_tasks(5))
        sf = login(org)
        page = sf.query("SELECT Id, Subject FROM Task ORDER BY SystemModstamp")
        sizes = [len(page["records"])]
        assert page["totalSize"] == 5 and page["done"] is False
        while not page["done"]:
            page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
            sizes.append(len(page["records"]))
            assert page["totalSize"] == 5
        assert sizes == [2, 2, 1]
        assert "nextRecordsUrl" not in page
        paths = [r.path for r in org.requests if r.path.startswith("/services/data")]
        assert paths[0] == "/services/data/v59.0/query"
        assert all(p.startswith("/services/data/v59.0/query/01g") for p in paths[1:])
        assert len(sf.query_all("SELECT Id FROM Task")["records"]) == 5


def test_query_page_wire_format(org: FakeOrg) -> None:
    [task_id] = org.add_tasks([{"Subject": "Hi", "ActivityDate": "2026-01-05",
                                "CompletedDateTime": "2026-01-05T13:05:00Z", "Type": None}])
    response = raw(org, "GET", "/services/data/v59.0/query/", org.issue_session_id(),
                   params={"q": "SELECT Id, Type, ActivityDate, CompletedDateTime, "
                                "IsDeleted FROM Task"})
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"totalSize": 1, "done": True, "records": [{
        "attributes": {"type": "Task", "url": f"/services/data/v59.0/sobjects/Task/{task_id}"},
        "Id": task_id, "Type": None, "ActivityDate": "2026-01-05",
        "CompletedDateTime": "2026-01-05T13:05:00.000+0000", "IsDeleted": False}]}
    assert len(task_id) == 18 and task_id.startswith("00T")


def test_batch_size_header_caps_pages(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(450))
    sf = login(org)
    page = sf.query("SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=300"})
    assert len(page["records"]) == 300 and page["totalSize"] == 450
    page = sf.query("SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=5"})
    assert len(page["records"]) == 200  # Salesforce's minimum batch size
    records = list(sf.query_all_iter("SELECT Id FROM Task",
                                     headers={"Sforce-Query-Options": "batchSize=200"}))
    assert len(records) == 450


def test_query_all_shows_deleted_rows(org: FakeOrg) -> None:
    ids = org.add_tasks(make_tasks(3))
    org.set_now(T0 + timedelta(days=1))
    org.delete_task(ids[1])
    sf = login(org)
    live = sf.query("SELECT Id FROM Task")["records"]
    assert [r["Id"] for r in live] == [ids[0], ids[2]]
    everything = sf.query("SELECT Id, IsDeleted, SystemModstamp FROM Task ORDER BY Id",
                          include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in everything] == [
        (ids[0], False), (ids[1], True), (ids[2], False)]
    assert everything[1]["SystemModstamp"] == "2026-01-06T13:00:00.000+0000"
    deleted = sf.query("SELECT Id FROM Task WHERE IsDeleted = true", include_deleted=True)
    assert [r["Id"] for r in deleted["records"]] == [ids[1]]


def test_count_query(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(4))
    sf = login(org)
    assert sf.query("SELECT COUNT() FROM Task WHERE CallDurationInSeconds >= 20") == {
        "totalSize": 2, "done": True, "records": []}


def test_half_open_datetime_windows(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(6))  # modstamps 13:00 .. 13:05
    sf = login(org)
    seen = []
    for start in (T0, T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)):
        soql = format_soql("SELECT Subject FROM Task WHERE SystemModstamp >= {} AND "
                           "SystemModstamp < {} ORDER BY SystemModstamp, Id",
                           start, start + timedelta(minutes=2))
        seen.append([r["Subject"] for r in sf.query_all(soql)["records"]])
    assert seen == [["Call 0", "Call 1"], ["Call 2", "Call 3"], ["Call 4", "Call 5"]]
    plus_one = "2026-01-05T14:03:00+01:00"  # = 13:03Z, compared as an instant
    assert sf.query(f"SELECT Id FROM Task WHERE SystemModstamp = {plus_one}")["totalSize"] == 1


def test_order_by_modstamp_then_id(org: FakeOrg) -> None:
    same = T0 + timedelta(hours=1)
    ids = org.add_tasks([{"Id": "00T5g0000000009AAA", "SystemModstamp": same},
                         {"Id": "00T5g0000000003AAA", "SystemModstamp": same},
                         {"Id": "00T5g0000000007AAA", "SystemModstamp": T0}])
    sf = login(org)
    rows = sf.query("SELECT Id FROM Task ORDER BY SystemModstamp, Id")["records"]
    assert [r["Id"] for r in rows] == [ids[2], ids[1], ids[0]]


def test_query_errors_use_salesforce_shape(org: FakeOrg) -> None:
    sf = login(org)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Task WHERE")
    assert error_of(info.value)["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Account")
    assert error_of(info.value)["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Task WHERE SystemModstamp > '2026-01-01'")
    assert error_of(info.value)["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more("/services/data/v59.0/query/01gNOPE-2000", identifier_is_url=True)
    assert error_of(info.value)["errorCode"] == "INVALID_QUERY_LOCATOR"
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.restful("no/such/thing")
    assert error_of(info.value) == {"message": "The requested resource does not exist",
                                    "errorCode": "NOT_FOUND"}


def test_unauthenticated_calls_get_401_array(org: FakeOrg) -> None:
    response = raw(org, "GET", "/services/data/v59.0/limits")
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid",
                                "errorCode": "INVALID_SESSION_ID"}]
    assert response.headers["Sforce-Limit-Info"] == "api-usage=0/100000"


# ====================================================================== describe, limits


def test_describe_and_limits(org: FakeOrg) -> None:
    sf = login(org)
    assert [o["name"] for o in sf.describe()["sobjects"]] == ["Task"]
    fields = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert set(SPEC_FIELDS) <= set(fields)
    assert fields[BIZ]["custom"] is True and fields[BIZ]["label"] == "BizibleId"
    assert fields["SystemModstamp"]["type"] == "datetime"
    assert fields["ActivityDate"]["type"] == "date"
    assert {"name", "type", "label", "nillable"} <= set(fields["Subject"])
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 100_000 - 3}
    assert raw(org, "GET", "/services/data/v59.0/sobjects/Account/describe",
               org.issue_session_id()).status_code == 404


@pytest.mark.parametrize(("version", "status"), [
    ("31.0", 200), ("59.0", 200), ("68.0", 200), ("30.0", 404), ("69.0", 404), ("59.5", 404),
    ("x", 404)])
def test_only_the_api_versions_salesforce_offers_answer(org: FakeOrg, version: str,
                                                        status: int) -> None:
    response = raw(org, "GET", f"/services/data/v{version}/limits", org.issue_session_id())
    assert response.status_code == status
    if status == 404:
        assert response.json() == [{"message": "The requested resource does not exist",
                                    "errorCode": "NOT_FOUND"}]


def test_api_usage_header(org: FakeOrg) -> None:
    sf = login(org)
    sf.query("SELECT COUNT() FROM Task")
    sf.query("SELECT COUNT() FROM Task")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (2, 100_000)
    assert org.api_calls == 2


def test_add_tasks_rejects_unknown_fields_and_naive_datetimes(org: FakeOrg) -> None:
    with pytest.raises(ValueError, match="add_field"):
        org.add_tasks([{"Nope__c": 1}])
    with pytest.raises(ValueError, match="naive"):
        org.add_tasks([{"CreatedDate": datetime(2026, 1, 1)}])  # noqa: DTZ001
    org.add_field("Call_Time__c", "datetime", "Call Time")
    [task_id] = org.add_tasks([{"call_time__c": "2026-01-05T13:05:00Z"}])
    assert org.task(task_id)["Call_Time__c"] == "2026-01-05T13:05:00.000+0000"


def test_update_task_bumps_modstamp(org: FakeOrg) -> None:
    org.set_now(T0)
    [task_id] = org.add_tasks([{"Subject": "a"}])
    assert org.task(task_id)["SystemModstamp"] == "2026-01-05T13:00:00.000+0000"
    org.set_now(T0 + timedelta(seconds=90, microseconds=1500))
    org.update_task(task_id, subject="b")
    task = org.task(task_id)
    assert task["Subject"] == "b"
    assert task["SystemModstamp"] == "2026-01-05T13:01:30.001+0000"
    assert task["CreatedDate"] == "2026-01-05T13:00:00.000+0000"


def test_every_write_stamps_both_dates_strictly_later(org: FakeOrg) -> None:
    org.set_now(T0)
    first, gone, future = org.add_tasks(make_tasks(2) + [  # modstamps 13:00, 13:01, 14:00
        {"Subject": "later", "SystemModstamp": T0 + timedelta(hours=1)}])
    org.update_task(first, Subject="a")  # 13:00 is not later than 13:00: one millisecond on
    org.update_task(first, Subject="b")  # the clock stood still: one more
    org.update_task(future, Subject="c")  # never earlier than the record's own stamp
    org.delete_task(gone)
    stamps = {i: (org.task(i)["SystemModstamp"], org.task(i)["LastModifiedDate"])
              for i in (first, gone, future)}
    assert stamps == {first: ("2026-01-05T13:00:00.002+0000",) * 2,
                      gone: ("2026-01-05T13:01:00.001+0000",) * 2,
                      future: ("2026-01-05T14:00:00.001+0000",) * 2}


def test_collection_update_over_http_stamps_the_org_time(org: FakeOrg) -> None:
    [task_id] = org.add_tasks(make_tasks(1))
    org.set_now(T0 + timedelta(days=1))
    sid = login(org).session_id
    answer = raw(org, "PATCH", "/services/data/v59.0/composite/sobjects", sid, json={
        "records": [{"attributes": {"type": "Task"}, "id": task_id, "Type": "Other"}]})
    assert answer.status_code == 200 and answer.json()[0]["success"] is True
    task = org.task(task_id)
    assert task["Type"] == "Other" and task["CreatedDate"] == "2026-01-05T13:00:00.000+0000"
    assert task["SystemModstamp"] == task["LastModifiedDate"] == "2026-01-06T13:00:00.000+0000"


def test_a_running_clock_moves_on_from_the_set_moment(org: FakeOrg) -> None:
    org.set_now(T0)
    assert org.now() == org.now() == T0
    org.set_now(T0, running=True)
    before = org.now()
    time.sleep(0.01)
    assert T0 <= before < org.now() < T0 + timedelta(seconds=30)


# ====================================================================== Bulk API 2.0


@pytest.mark.parametrize(("accept", "compress", "gzipped"), [
    ("gzip, deflate", True, True),  # what requests sends, so simple-salesforce
    ("deflate;q=1.0, GZIP;q=0.5", True, True),
    ("identity", True, False),
    ("gzip, deflate", False, False),  # FakeOrg(compress=False)
])
def test_query_pages_are_gzipped_when_asked(accept: str, compress: bool, gzipped: bool) -> None:
    with FakeOrg(compress=compress) as org:
        org.add_tasks(make_tasks(30))
        session_id = org.issue_session_id()
        response = raw(org, "GET", "/services/data/v59.0/query/", session_id,
                       params={"q": "SELECT Id, Subject FROM Task"},
                       headers={"Accept-Encoding": accept}, stream=True)
        assert response.headers.get("Content-Encoding") == ("gzip" if gzipped else None)
        sent = response.raw.read(decode_content=False)  # the bytes on the wire
        assert sent[:2] == b"\x1f\x8b" if gzipped else sent.startswith(b"{")
        assert int(response.headers["Content-Length"]) == len(sent)
        tiny = raw(org, "GET", "/services/data/v59.0/query/", session_id,
                   params={"q": "SELECT COUNT() FROM Task"}, headers={"Accept-Encoding": accept})
        assert "Content-Encoding" not in tiny.headers  # under 1 KB: sent as it is
        assert tiny.json()["totalSize"] == 30


def test_the_client_reads_gzipped_rest_and_bulk_pages(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(2500))
    sf = login(org)
    rest = sf.query_all("SELECT Id, Subject FROM Task")
    assert len(rest["records"]) == 2500
    bulk = list(sf.bulk2.Task.query("SELECT Id, Subject FROM Task", max_records=1000))
    assert sum(len(page.splitlines()) - 1 for page in bulk) == 2500
    # each of those answers went gzipped: requests asks for it on every call
    assert "gzip" in requests.utils.default_headers()["Accept-Encoding"]


def test_bulk2_query_pages(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(7))
    sf = login(org)
    pages = list(sf.bulk2.Task.query("SELECT Id, Subject FROM Task ORDER BY Subject",
                                     max_records=3, wait=0))
    rows = [list(csv.DictReader(io.StringIO(page, newline=""))) for page in pages]
    assert [len(r) for r in rows] == [3, 3, 1]
    assert [row["Subject"] for page in rows for row in page] == [f"Call {i}" for i in range(7)]
    locators = [r.query.get("locator") for r in org.requests if r.path.endswith("/results")]
    assert locators[0] is None and all(locators[1:])
    assert pages[0].startswith('"Id","Subject"\n')


def test_bulk2_results_headers_and_csv(org: FakeOrg) -> None:
    org.add_tasks([{"Subject": 'He said ""VIP"" – José Müller', "Type": None,
                    "Description": "line one\r\nline two, with comma", "IsDeleted": False,
                    "CompletedDateTime": "2026-01-05T13:05:00Z"},
                   {"Subject": "plain"}])
    sid = login(org).session_id
    job = raw(org, "POST", "/services/data/v59.0/jobs/query", sid, json={
        "operation": "query", "columnDelimiter": "COMMA", "lineEnding": "LF",
        "query": "SELECT Subject, Type, Description, CompletedDateTime, IsDeleted FROM Task"})
    info = job.json()
    assert info["state"] == "UploadComplete" and info["object"] == "Task"
    assert info["apiVersion"] == 59.0 and info["contentType"] == "CSV"
    poll = raw(org, "GET", f"/services/data/v59.0/jobs/query/{info['id']}", sid).json()
    assert poll["state"] == "JobComplete" and poll["numberRecordsProcessed"] == 2
    result = raw(org, "GET", f"/services/data/v59.0/jobs/query/{info['id']}/results", sid,
                 params={"maxRecords": 1})
    assert result.headers["Content-Type"] == "text/csv"
    assert result.headers["Sforce-NumberOfRecords"] == "1"
    locator = result.headers["Sforce-Locator"]
    assert locator not in ("", "null")
    text = result.content.decode("utf-8")
    assert '"He said """"VIP"""" – José Müller"' in text
    [row] = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row == {"Subject": 'He said ""VIP"" – José Müller', "Type": "",
                   "Description": "line one\r\nline two, with comma",
                   "CompletedDateTime": "2026-01-05T13:05:00.000Z", "IsDeleted": "false"}
    last = raw(org, "GET", f"/services/data/v59.0/jobs/query/{info['id']}/results", sid,
               params={"maxRecords": 5, "locator": locator})
    assert last.headers["Sforce-Locator"] == "null"
    assert last.headers["Sforce-NumberOfRecords"] == "1"


def test_bulk2_round_trip_through_client(org: FakeOrg) -> None:
    description = "first\r\nsecond \"quoted\"\nthird ü"
    org.add_tasks([{"Subject": "ÀÉÎ €", "Description": description}, {"Subject": "x"}])
    sf = login(org)
    pages = list(sf.bulk2.Task.query("SELECT Subject, Description FROM Task ORDER BY Subject",
                                     wait=0))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page, newline=""))]
    assert rows == [{"Subject": "x", "Description": ""},
                    {"Subject": "ÀÉÎ €", "Description": description}]


def test_bulk2_query_all_includes_deleted(org: FakeOrg) -> None:
    ids = org.add_tasks(make_tasks(3))
    org.delete_task(ids[0])
    sf = login(org)
    live = "".join(sf.bulk2.Task.query("SELECT Id FROM Task", wait=0))
    everything = "".join(sf.bulk2.Task.query_all("SELECT Id, IsDeleted FROM Task", wait=0))
    assert ids[0] not in live and f'"{ids[0]}","true"' in everything


def test_bulk2_errors(org: FakeOrg) -> None:
    sid = login(org).session_id
    bad = raw(org, "POST", "/services/data/v59.0/jobs/query", sid,
              json={"operation": "query", "query": "SELECT Nope FROM Task"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    missing = raw(org, "GET", "/services/data/v59.0/jobs/query/750NOPE", sid)
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"


# ====================================================================== faults


def test_fault_expire_session_after_queries_relogs_in() -> None:
    with FakeOrg(page_size=2) as org:
        org.add_tasks(make_tasks(7))
        org.faults.expire_session_after_queries = 2
        sf = login(org)
        assert len(sf.query_all("SELECT Id FROM Task")["records"]) == 7  # 4 pages
        assert org.logins == 2  # the client re-logged in once, transparently
        org.faults.expire_session_after_queries = 1
        direct = Salesforce(session_id=org.issue_session_id(), instance_url=org.url,
                            session=EndpointSession(org.url))
        direct.query("SELECT COUNT() FROM Task")
        with pytest.raises(SalesforceExpiredSession):
            direct.query("SELECT COUNT() FROM Task")


def test_fault_always_invalid_session(org: FakeOrg) -> None:
    sf = login(org)
    org.faults.always_invalid_session = True
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Task")
    assert org.logins == 5  # first login + 4 refreshes, then simple-salesforce gives up
    with pytest.raises(SalesforceExpiredSession):
        list(sf.bulk2.Task.query("SELECT Id FROM Task", wait=0))
    assert org.logins == 5  # bulk2 never re-logs in


def test_fault_fail_5xx(org: FakeOrg) -> None:
    sf = login(org)
    org.faults.fail_5xx = [500, 503]
    with pytest.raises(SalesforceGeneralError) as first:
        sf.query("SELECT COUNT() FROM Task")
    assert first.value.status == 500 and error_of(first.value)["errorCode"] == (
        "UNKNOWN_EXCEPTION")
    with pytest.raises(SalesforceGeneralError) as second:
        sf.query("SELECT COUNT() FROM Task")
    assert second.value.status == 503 and error_of(second.value)["errorCode"] == (
        "SERVER_UNAVAILABLE")
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0
    assert org.faults.fail_5xx == []


def test_fault_delay_triggers_client_timeout(org: FakeOrg) -> None:
    sf = login(org, timeout=0.2)
    org.faults.delay_seconds = [0.6]
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        sf.query("SELECT COUNT() FROM Task")
    assert time.monotonic() - started < 0.6
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0


def test_fault_request_limit_exceeded(org: FakeOrg) -> None:
    sf = login(org)
    org.faults.request_limit_exceeded_after = 2
    sf.query("SELECT COUNT() FROM Task")
    sf.limits()
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT COUNT() FROM Task")
    assert error_of(info.value) == {"message": "TotalRequests Limit exceeded.",
                                    "errorCode": "REQUEST_LIMIT_EXCEEDED"}


@pytest.mark.parametrize("switch", ["hide_field", "unreadable_field"])
def test_fault_missing_or_unreadable_bizible_field(org: FakeOrg, switch: str) -> None:
    setattr(org.faults, switch, BIZ)
    sf = login(org)
    described = {f["name"] for f in sf.Task.describe()["fields"]}
    assert (BIZ in described) is (switch == "unreadable_field")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(f"SELECT Id, {BIZ} FROM Task")
    error = error_of(info.value)
    assert error["errorCode"] == "INVALID_FIELD"
    # Salesforce's shape: a newline, the query's text, a caret under the field, its place
    assert error["message"].startswith(
        f"\nSELECT Id, {BIZ} FROM Task\n{' ' * 11}^\nERROR at Row:1:Column:12\n"
        f"No such column '{BIZ}' on entity 'Task'. If you are attempting to use a custom field")
    with pytest.raises(SalesforceMalformedRequest):
        list(sf.bulk2.Task.query(f"SELECT Id FROM Task WHERE {BIZ} != null", wait=0))


def test_fault_bulk_missing_locator(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(7))
    org.faults.bulk_missing_locator = True
    sf = login(org)
    pages = list(sf.bulk2.Task.query("SELECT Id FROM Task", max_records=3, wait=0))
    # simple-salesforce reads a missing locator as "done": a silently short result
    assert len(pages) == 1 and len(list(csv.DictReader(io.StringIO(pages[0])))) == 3


def test_fault_rest_done_without_next() -> None:
    with FakeOrg(page_size=2) as org:
        org.add_tasks(make_tasks(5))
        org.faults.rest_done_without_next = True
        sf = login(org)
        page = sf.query("SELECT Id FROM Task")
        assert page["done"] is False and "nextRecordsUrl" not in page
        with pytest.raises(KeyError):
            sf.query_all("SELECT Id FROM Task")


def test_fault_bulk_polls_in_progress(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(2))
    org.faults.bulk_polls_in_progress = 2
    sf = login(org)
    sid = sf.session_id
    job = raw(org, "POST", "/services/data/v59.0/jobs/query/", sid,
              json={"operation": "query", "query": "SELECT Id FROM Task"}).json()
    early = raw(org, "GET", f"/services/data/v59.0/jobs/query/{job['id']}/results", sid)
    assert early.status_code == 412 and early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    pages = list(sf.bulk2.Task.query("SELECT Id FROM Task", wait=0))
    assert len(list(csv.DictReader(io.StringIO(pages[0])))) == 2
    job_polls = [r for r in org.requests
                 if r.method == "GET" and r.path.count("/") == 6 and "/jobs/query/" in r.path]
    assert len(job_polls) == 3  # InProgress, InProgress, JobComplete for the client's job


def test_fault_modify_during_rest_query() -> None:
    with FakeOrg(page_size=2) as org:
        ids = org.add_tasks(make_tasks(4))
        org.set_now(T0 + timedelta(hours=2))

        def change(fake: FakeOrg) -> None:
            fake.update_task(ids[3], Subject="changed")
            fake.delete_task(ids[2])

        org.faults.modify_during_query = change
        sf = login(org)
        rows = sf.query_all("SELECT Id, Subject FROM Task ORDER BY SystemModstamp")["records"]
        # the cursor is a snapshot taken when the query ran
        assert [r["Subject"] for r in rows] == ["Call 0", "Call 1", "Call 2", "Call 3"]
        assert org.faults.modify_during_query is None
        again = sf.query_all("SELECT Id, Subject FROM Task ORDER BY SystemModstamp")["records"]
        assert [r["Subject"] for r in again] == ["Call 0", "Call 1", "changed"]


def test_fault_modify_during_bulk_query(org: FakeOrg) -> None:
    ids = org.add_tasks(make_tasks(4))
    calls: list[int] = []
    org.faults.modify_during_query = lambda fake: (calls.append(1),
                                                   fake.delete_task(ids[0]))[0]
    sf = login(org)
    pages = list(sf.bulk2.Task.query("SELECT Id FROM Task", max_records=2, wait=0))
    assert sum(len(list(csv.DictReader(io.StringIO(p)))) for p in pages) == 4
    assert calls == [1]
    assert org.task(ids[0])["IsDeleted"] is True


def test_faults_default_off() -> None:
    faults = Faults()
    assert faults.fail_5xx == [] and faults.modify_during_query is None
    assert faults.bulk_polls_in_progress == 0


# ====================================================================== hygiene


def test_server_never_prints_secrets(capfd: pytest.CaptureFixture[str]) -> None:
    with FakeOrg(password="S3cret!", security_token="T0KEN") as org:
        sf = login(org)
        sf.query("SELECT Id FROM Task")
        raw(org, "GET", "/nope")
        session_id = sf.session_id
    out, err = capfd.readouterr()
    for secret in ("S3cret!", "T0KEN", session_id):
        assert secret not in out and secret not in err
    assert err == ""


def test_other_api_versions_and_unknown_paths(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(1))
    sf = Salesforce(username=org.username, password=org.password,
                    security_token=org.security_token, version="62.0",
                    session=EndpointSession(org.url))
    assert sf.query("SELECT Id FROM Task")["records"][0]["attributes"]["url"].startswith(
        "/services/data/v62.0/sobjects/Task/")
    sid = sf.session_id
    for path in ("/services/data/latest/query", "/services/data/v59.0/nothing", "/x"):
        response = raw(org, "GET", path, sid)
        assert response.status_code == 404
        assert response.json() == [{"message": "The requested resource does not exist",
                                    "errorCode": "NOT_FOUND"}]
    assert "Sforce-Limit-Info" in raw(org, "GET", "/services/data/latest/x", sid).headers
    assert raw(org, "GET", f"{org.data_path}/limits/", sid).status_code == 200
    assert raw(org, "POST", f"{org.data_path}/limits", sid).status_code == 405


def test_bulk2_results_without_polling_abort_and_delete(org: FakeOrg) -> None:
    org.add_tasks(make_tasks(2))
    sid = login(org).session_id
    jobs = f"{org.data_path}/jobs/query"
    job = raw(org, "POST", jobs, sid, json={"operation": "query",
                                           "query": "SELECT Id FROM Task"}).json()
    results = raw(org, "GET", f"{jobs}/{job['id']}/results", sid)
    assert results.status_code == 200 and results.headers["Sforce-NumberOfRecords"] == "2"
    org.faults.bulk_polls_in_progress = 5
    slow = raw(org, "POST", jobs, sid, json={"operation": "queryAll",
                                            "query": "SELECT Id FROM Task"}).json()
    aborted = raw(org, "PATCH", f"{jobs}/{slow['id']}", sid, json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    assert raw(org, "GET", f"{jobs}/{slow['id']}/results", sid).status_code == 412
    assert raw(org, "DELETE", f"{jobs}/{slow['id']}", sid).status_code == 204
    assert raw(org, "GET", f"{jobs}/{slow['id']}", sid).status_code == 404
    count = raw(org, "POST", jobs, sid, json={"operation": "query",
                                             "query": "SELECT COUNT() FROM Task"})
    assert count.status_code == 400


def test_bulk2_5xx_surfaces_as_general_error(org: FakeOrg) -> None:
    sf = login(org)
    org.faults.fail_5xx = [503]
    with pytest.raises(SalesforceGeneralError):
        list(sf.bulk2.Task.query("SELECT Id FROM Task", wait=0))
    org.faults.request_limit_exceeded_after = 0
    org.faults.fail_5xx = [500]
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Task")
    assert org.faults.fail_5xx == [500]  # a refused call does not use up a 5xx fault
