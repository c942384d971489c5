"""sObject Collections update: ``PATCH /services/data/vNN.N/composite/sobjects``.

Request: ``{"allOrNone": bool, "records": [{"attributes": {"type": "Task"}, "id": ...,
"Field": value, ...}]}`` with at most 200 records. Answer: 200 and a list, in request
order, of ``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}``; a
record that failed carries no ``id`` (as Salesforce answers for rejected updates), so
clients must read results by position. With ``allOrNone`` one failure rolls back the
whole request and every other record answers ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.

Updated Tasks get a new ``SystemModstamp``/``LastModifiedDate`` (``org.touch``). The
fault switch ``org.faults.reject_update_ids`` (Id -> (statusCode, message)) makes the org
refuse chosen records, e.g. with ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` like a validation
rule.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from calltui.fakeorg.wire import (
    DataRequest,
    Response,
    error_response,
    json_response,
    method_not_allowed,
)

if TYPE_CHECKING:
    from calltui.fakeorg.server import FakeOrg

MAX_RECORDS = 200
READ_ONLY = frozenset({"id", "createddate", "createdbyid", "lastmodifieddate",
                       "lastmodifiedbyid", "systemmodstamp", "isdeleted", "isclosed"})


def route(org: FakeOrg, request: DataRequest) -> Response:
    if request.method != "PATCH":
        return method_not_allowed(request.method, "PATCH")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return error_response(400, "JSON_PARSER_ERROR", "Unexpected character in request body")
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        return error_response(400, "INVALID_FIELD", "The request body must hold records")
    if len(records) > MAX_RECORDS:
        return error_response(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit "
                              f"more than {MAX_RECORDS} records into this call")
    by_lower = {f.name.lower(): f for f in org.fields}
    for record in records:
        if not isinstance(record, dict):
            return error_response(400, "JSON_PARSER_ERROR", "Each record must be an object")
        for name in record:
            if name not in ("attributes", "id", "Id") and name.lower() not in by_lower:
                return error_response(400, "INVALID_FIELD",
                                      f"No such column '{name}' on sobject of type Task")
    all_or_none = bool(body.get("allOrNone", False))
    with org.lock:
        results = [_check(org, record, by_lower) for record in records]
        failed = any(not r["success"] for r in results)
        if all_or_none and failed:
            return json_response(200, [r if not r["success"] else _rolled_back()
                                       for r in results])
        for record, result in zip(records, results, strict=True):
            if result["success"]:
                task = org.tasks[result["id"]]
                task.update(org._normalize({k: v for k, v in record.items()
                                            if k not in ("attributes", "id", "Id")}))
                org.touch(task)
    return json_response(200, results)


def _failure(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"success": False,
            "errors": [{"statusCode": code, "message": message, "fields": fields or []}]}


def _rolled_back() -> dict[str, Any]:
    return _failure("ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request "
                    "was using AllOrNone header")


def _check(org: FakeOrg, record: dict[str, Any], by_lower: dict[str, Any]) -> dict[str, Any]:
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, dict) else None
    if sobject != "Task":
        return _failure("INVALID_TYPE", "sObject type must be given in attributes and be Task")
    task_id = record.get("id", record.get("Id"))
    if not isinstance(task_id, str) or len(task_id) not in (15, 18):
        return _failure("MALFORMED_ID", f"malformed id {task_id}", ["Id"])
    task = org.tasks.get(task_id) or next(
        (t for key, t in org.tasks.items() if key[:15] == task_id[:15]), None)
    if task is None:
        return _failure("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
    if task.get("IsDeleted"):
        return _failure("ENTITY_IS_DELETED", "entity is deleted")
    for name in record:
        if name.lower() in READ_ONLY and name not in ("id", "Id"):
            field = by_lower[name.lower()].name
            return _failure("INVALID_FIELD_FOR_INSERT_UPDATE",
                            f"Unable to create/update fields: {field}. Please check the "
                            "security settings of this field and verify that it is read/write "
                            "for your profile or permission set.", [field])
    rejection = org.faults.reject_update_ids.get(task["Id"])
    if rejection is not None:
        code, message = rejection
        return _failure(code, message, [])
    return {"id": task["Id"], "success": True, "errors": []}
