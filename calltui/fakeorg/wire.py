"""Wire formats of the fake org: the Task schema, record ids, and response bodies.

Everything here is pure: functions take plain values and return the exact
JSON-able structure or XML text Salesforce would send (see
docs/ecosystem.md §2). The server module decides *when* to send them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from calltui.fakeorg.soql import format_datetime, parse_datetime

ORG_ID = "00D5g000004AbCdEAA"
USER_ID = "0055g00000ApiUsAAA"
TASK_KEY_PREFIX = "00T"

# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class FieldDef:
    """One field of the Task describe. ``type`` uses describe's names (``datetime``...)."""

    name: str
    type: str
    label: str
    custom: bool = False
    nillable: bool = True
    length: int = 0


def _std(name: str, field_type: str, label: str, length: int = 0, nillable: bool = True
         ) -> FieldDef:
    return FieldDef(name, field_type, label, False, nillable, length)


TASK_FIELDS: tuple[FieldDef, ...] = (
    _std("Id", "id", "Activity ID", 18, nillable=False),
    _std("Subject", "combobox", "Subject", 255),
    _std("Type", "picklist", "Type", 255),
    _std("TaskSubtype", "picklist", "Task Subtype", 255),
    _std("CallType", "picklist", "Call Type", 255),
    _std("CallDurationInSeconds", "int", "Call Duration"),
    _std("CallDisposition", "string", "Call Result", 255),
    _std("CallObject", "string", "Call Object Identifier", 255),
    _std("Status", "picklist", "Status", 255, nillable=False),
    _std("Priority", "picklist", "Priority", 255, nillable=False),
    _std("WhoId", "reference", "Name ID", 18),
    _std("WhatId", "reference", "Related To ID", 18),
    _std("OwnerId", "reference", "Assigned To ID", 18, nillable=False),
    _std("Description", "textarea", "Description", 32000),
    _std("ActivityDate", "date", "Due Date Only"),
    _std("CreatedDate", "datetime", "Created Date", nillable=False),
    _std("CreatedById", "reference", "Created By ID", 18, nillable=False),
    _std("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
    _std("LastModifiedById", "reference", "Last Modified By ID", 18, nillable=False),
    _std("CompletedDateTime", "datetime", "Completed Date/Time"),
    _std("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    _std("IsDeleted", "boolean", "Deleted", nillable=False),
    _std("IsClosed", "boolean", "Closed", nillable=False),
    FieldDef("bizible2__BizibleId__c", "string", "BizibleId", True, True, 255),
    FieldDef("bizible2__Bizible_Touchpoint_Date__c", "datetime", "Bizible Touchpoint Date",
             True, True, 0),
)

_SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "int": "xsd:int", "double": "xsd:double",
               "boolean": "xsd:boolean", "date": "xsd:date", "datetime": "xsd:dateTime"}


def normalize_value(value: Any, field_type: str) -> Any:
    """Bring a value given by a test into the REST wire form for its field type."""
    if value is None:
        return False if field_type == "boolean" else None
    if field_type == "datetime":
        parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
        if parsed.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give timezone-aware UTC values")
        return format_datetime(parsed)
    if field_type == "date":
        return value.isoformat() if isinstance(value, date) else date.fromisoformat(value)\
            .isoformat()
    if field_type == "boolean":
        return bool(value)
    if field_type == "int":
        return int(value)
    return value


# --------------------------------------------------------------------------- ids

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    """Salesforce's 18-character id: a 3-character suffix encoding letter case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        suffix += _CHECKSUM_ALPHABET[bits]
    return id15 + suffix


def make_id(prefix: str, number: int) -> str:
    """A valid-looking 18-character id such as ``00T5g00000000042AAA``-style values."""
    return id18(f"{prefix}5g{number:010d}")


# --------------------------------------------------------------------------- REST JSON


def sf_errors(code: str, message: str, fields: Sequence[str] | None = None
              ) -> list[dict[str, Any]]:
    """Salesforce's error body: always a JSON array of ``{message, errorCode[, fields]}``."""
    error: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = list(fields)
    return [error]


def render_record(record: Mapping[str, Any], fields: Iterable[str], api_version: str
                  ) -> dict[str, Any]:
    """One query row: ``attributes`` first, then the selected fields in SELECT order."""
    row: dict[str, Any] = {
        "attributes": {
            "type": "Task",
            "url": f"/services/data/v{api_version}/sobjects/Task/{record['Id']}",
        }
    }
    for name in fields:
        row[name] = record.get(name)
    return row


def query_page(total: int, rows: list[dict[str, Any]], next_url: str | None
               ) -> dict[str, Any]:
    """A query response page; ``nextRecordsUrl`` only when there is a next page."""
    body: dict[str, Any] = {"totalSize": total, "done": next_url is None}
    if next_url is not None:
        body["nextRecordsUrl"] = next_url
    body["records"] = rows
    return body


def describe_field(field_def: FieldDef) -> dict[str, Any]:
    """One entry of describe's ``fields`` list."""
    name, field_type = field_def.name, field_def.type
    system = name in ("Id", "IsDeleted", "SystemModstamp", "CreatedDate", "LastModifiedDate")
    return {
        "name": name,
        "label": field_def.label,
        "type": field_type,
        "soapType": _SOAP_TYPES.get(field_type, "xsd:string"),
        "length": field_def.length,
        "nillable": field_def.nillable,
        "custom": field_def.custom,
        "filterable": True,
        "sortable": field_type != "textarea",
        "createable": not system,
        "updateable": not system,
        "calculated": False,
        "referenceTo": _REFERENCES.get(name, []),
    }


_REFERENCES = {"WhoId": ["Contact", "Lead"], "WhatId": ["Account", "Opportunity"],
               "OwnerId": ["User"], "CreatedById": ["User"], "LastModifiedById": ["User"]}


def describe_task(fields: Iterable[FieldDef], api_version: str) -> dict[str, Any]:
    base = f"/services/data/v{api_version}/sobjects/Task"
    return {
        "name": "Task",
        "label": "Task",
        "labelPlural": "Tasks",
        "keyPrefix": TASK_KEY_PREFIX,
        "custom": False,
        "queryable": True,
        "retrieveable": True,
        "replicateable": True,
        "fields": [describe_field(field_def) for field_def in fields],
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def describe_global(api_version: str) -> dict[str, Any]:
    base = f"/services/data/v{api_version}/sobjects/Task"
    task = {"name": "Task", "label": "Task", "labelPlural": "Tasks", "keyPrefix": "00T",
            "custom": False, "queryable": True, "retrieveable": True, "replicateable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "rowTemplate": f"{base}/{{ID}}"}}
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [task]}


def limits_body(used: int, api_limit: int) -> dict[str, Any]:
    return {
        "DailyApiRequests": {"Max": api_limit, "Remaining": max(api_limit - used, 0)},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
    }


# --------------------------------------------------------------------------- OAuth JSON


def oauth_success(access_token: str, instance_url: str, issued_at: datetime,
                  scope: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access_token,
        "instance_url": instance_url,
        "id": f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}",
        "token_type": "Bearer",
        "issued_at": str(int(issued_at.timestamp() * 1000)),
        "signature": "ZmFrZW9yZy1zaWduYXR1cmU=",
    }
    if scope is not None:
        body["scope"] = scope
    return body


def oauth_error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


# --------------------------------------------------------------------------- SOAP XML


def soap_login_success(session_id: str, origin: str, api_version: str, username: str
                       ) -> str:
    """The loginResponse; ``sessionId``/``serverUrl`` are unprefixed (default namespace)."""
    server_url = f"{origin}/services/Soap/u/{api_version}/{ORG_ID[:15]}"
    metadata_url = f"{origin}/services/Soap/m/{api_version}/{ORG_ID[:15]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns="urn:partner.soap.sforce.com"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{escape(metadata_url)}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired>"
        "<sandbox>false</sandbox>"
        f"<serverUrl>{escape(server_url)}</serverUrl>"
        f"<sessionId>{escape(session_id)}</sessionId>"
        f"<userId>{USER_ID}</userId>"
        "<userInfo>"
        "<accessibilityMode>false</accessibilityMode>"
        "<currencySymbol>$</currencySymbol>"
        f"<organizationId>{ORG_ID}</organizationId>"
        "<organizationMultiCurrency>false</organizationMultiCurrency>"
        "<organizationName>Fake Org</organizationName>"
        "<sessionSecondsValid>7200</sessionSecondsValid>"
        f"<userEmail>{escape(username)}</userEmail>"
        f"<userFullName>API User</userFullName>"
        f"<userId>{USER_ID}</userId>"
        f"<userName>{escape(username)}</userName>"
        "<userTimeZone>Etc/UTC</userTimeZone>"
        "</userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def soap_login_fault(code: str, message: str) -> str:
    """The HTTP 500 fault body; the client reads ``sf:exceptionCode``/``sf:exceptionMessage``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:sf="urn:fault.partner.soap.sforce.com"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{escape(code)}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def soap_client_fault(message: str) -> str:
    """A fault for a request that is not a readable login envelope (no sf:detail)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault>"
        "<faultcode>soapenv:Client</faultcode>"
        f"<faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


# --------------------------------------------------------------------------- responses


@dataclass
class Response:
    """One HTTP answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"))


def error_response(status: int, code: str, message: str, fields: Sequence[str] | None = None
                   ) -> Response:
    """A Salesforce REST error: ``[{"message", "errorCode"[, "fields"]}]``."""
    return json_response(status, sf_errors(code, message, fields))


def xml_response(status: int, text: str) -> Response:
    return Response(status, text.encode("utf-8"), "text/xml;charset=UTF-8")


def not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def method_not_allowed(method: str, allowed: str) -> Response:
    return error_response(405, "METHOD_NOT_ALLOWED",
                          f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


def invalid_type_message(sobject: str) -> str:
    return (f"sObject type '{sobject}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your "
            "WSDL or the describe call for the appropriate names.")


@dataclass
class DataRequest:
    """A call under ``/services/data/v{version}/``; ``segments`` are the parts after it."""

    method: str
    version: str
    segments: list[str]
    query: dict[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
