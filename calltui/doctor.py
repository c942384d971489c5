"""``calltui doctor``: can calltui read what it needs from this org?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from calltui.records import TaskFields
from calltui.sf.client import ApiVersionError, FieldError, SalesforceClient, SyncError
from calltui.sf.soql import DEFAULT_CALL_FILTER, TaskQuery
from calltui.sync import field_cause

__all__ = ["Check", "run_doctor"]


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def run_doctor(client: SalesforceClient, fields: TaskFields = TaskFields(),
               call_filter: str = DEFAULT_CALL_FILTER,
               now: datetime | None = None) -> list[Check]:
    """Login (already done by the client), API version, fields, API usage, recent calls."""
    checks = [Check("login", True, f"{client.creds.mode} login to {client.creds.login_url} "
                    f"({client.sf.sf_instance})")]
    try:
        described = {f["name"].lower(): f for f in client.describe_task().get("fields", [])}
    except ApiVersionError as exc:
        return [*checks, Check("API version", False, str(exc))]
    checks.append(Check("API version", True, f"v{client.creds.api_version}"))
    for name in (fields.bizible_id, *fields.call_time, "SystemModstamp", "WhoId", "Type"):
        field = described.get(name.lower())
        if field is None:
            checks.append(Check(f"field {name}", False, "not visible to this user: "
                                + field_cause(name, fields, DEFAULT_CALL_FILTER)))
        else:
            checks.append(Check(f"field {name}", True, f"{field.get('type', '?')}, readable"))
    limits = client.limits().get("DailyApiRequests", {})
    if limits:
        used = limits.get("Max", 0) - limits.get("Remaining", 0)
        checks.append(Check("API usage", limits.get("Remaining", 0) > 0,
                            f"{used} of {limits.get('Max')} daily requests used"))
    now = now or datetime.now(UTC)
    try:
        query = TaskQuery(fields, call_filter).count_created(now - timedelta(days=30), now)
        count = client.count(query)
        checks.append(Check("call Tasks created, last 30 days", count > 0, str(count)))
    except FieldError as exc:  # a field of the call filter, most likely
        checks.append(Check("call Tasks created, last 30 days", False,
                            f"{exc}: {field_cause(exc.field, fields, call_filter)}"))
    except SyncError as exc:
        checks.append(Check("call Tasks created, last 30 days", False, str(exc)))
    return checks
