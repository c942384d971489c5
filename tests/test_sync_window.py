"""The sync's window and watermark: ``--since`` runs, and runs stopped by Ctrl-C.

Against the fake org over real HTTP, as in ``test_sync.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlite_utils import Database

from calltui import store
from calltui.fakeorg import FakeOrg
from calltui.sf.client import SalesforceClient, SyncError
from calltui.sources.files import Cancelled
from calltui.sync import SyncOptions, SyncResult, run_sync
from tests.test_sync import NOW, call_task, client_for, sync


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg(page_size=200) as fake:
        fake.set_now(NOW)
        yield fake


def synced_five_days(org: FakeOrg, db: Database) -> SalesforceClient:
    """Five Tasks, one modified each of the five days before NOW, synced; the client."""
    org.add_tasks([call_task(i, NOW - timedelta(days=i + 1)) for i in range(5)])
    client = client_for(org)
    sync(db, client)
    return client


def test_since_after_the_watermark_reads_its_window_and_keeps_the_watermark(
    org: FakeOrg, db: Database
) -> None:
    client = synced_five_days(org, db)
    watermark = store.get_watermark(db)
    later = NOW + timedelta(days=3)
    org.set_now(NOW + timedelta(days=1))
    org.add_tasks([call_task(10, NOW + timedelta(days=1))])  # between watermark and since
    result = run_sync(db, client, SyncOptions(since=NOW + timedelta(days=2)), now=later)
    assert (result.mode, result.upserted, result.moves_watermark) == ("since", 0, False)
    assert store.get_watermark(db) == watermark
    following = run_sync(db, client, SyncOptions(), now=later)
    assert (following.mode, following.upserted) == ("incremental", 1)  # Task 10 is not lost


def test_since_at_or_before_the_watermark_moves_it_like_an_incremental_run(
    org: FakeOrg, db: Database
) -> None:
    client = synced_five_days(org, db)
    later = NOW + timedelta(days=1)
    result = run_sync(db, client, SyncOptions(since=NOW - timedelta(days=2, hours=12)),
                      now=later)
    assert (result.count, result.moves_watermark) == (2, True)
    assert store.get_watermark(db) == "2026-03-11T11:58:00.000Z"


def test_since_on_a_new_database_sets_no_watermark(org: FakeOrg, db: Database) -> None:
    org.add_tasks([call_task(i, NOW - timedelta(days=i + 1)) for i in range(5)])
    client = client_for(org)
    assert sync(db, client, since=NOW - timedelta(days=2, hours=12)).upserted == 2
    assert store.get_watermark(db) is None
    assert (sync(db, client).mode, store.count_rows(db, "tasks")) == ("full", 5)


def test_since_not_before_the_window_end_is_refused_before_any_call(
    org: FakeOrg, db: Database
) -> None:
    client = client_for(org)
    calls = client.api_calls
    with pytest.raises(SyncError) as refused:
        sync(db, client, since=NOW - timedelta(minutes=1))  # the window ends at now - 2 min
    assert str(refused.value) == (
        "--since 2026-03-10T11:59:00.000Z is not before the window's end "
        "2026-03-10T11:58:00.000Z (now minus the 2-minute lag): nothing to read yet")
    assert client.api_calls == calls and store.recent_syncs(db) == []


def test_ctrl_c_keeps_the_committed_pages_and_logs_interrupted(
    org: FakeOrg, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.sync as sync_module

    monkeypatch.setattr(sync_module, "COMMIT_ROWS", 200)  # one page of the fixture's org
    org.add_tasks([call_task(i, NOW - timedelta(days=1, minutes=i)) for i in range(450)])
    real = sync_module._store_page

    def interrupted_page(*args: Any) -> int:
        if args[-1] == 201:  # the second page, while it is stored
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sync_module, "_store_page", interrupted_page)
    client = client_for(org)
    with pytest.raises(KeyboardInterrupt):
        run_sync(db, client, SyncOptions(), now=NOW)
    monkeypatch.setattr(sync_module, "_store_page", real)
    [log] = store.recent_syncs(db)
    assert (log["status"], log["rows_upserted"], log["error"]) == (
        "interrupted", 200, "interrupted (Ctrl-C)")
    assert store.count_rows(db, "tasks") == 200
    oldest_kept = db.execute("SELECT MAX(system_modstamp) FROM tasks").fetchone()[0]
    assert store.get_watermark(db) == oldest_kept  # the next run goes on after them
    result = sync(db, client)
    assert (result.mode, store.count_rows(db, "tasks")) == ("incremental", 450)


def test_a_cancel_keeps_the_pages_stored_before_it_and_logs_interrupted(
    org: FakeOrg, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's cancel (x) comes through on_progress, after a page is stored: the batch
    it was in is kept (the app kept none of it, and logged the run as failed)."""
    import calltui.sync as sync_module

    monkeypatch.setattr(sync_module, "COMMIT_ROWS", 400)  # two pages a transaction
    org.add_tasks([call_task(i, NOW - timedelta(days=1, minutes=i)) for i in range(650)])

    def cancel(done: int, total: int) -> None:
        if done == 600:  # the third page, the first of the second transaction
            raise Cancelled()

    client = client_for(org)
    with pytest.raises(Cancelled):
        run_sync(db, client, SyncOptions(), now=NOW, on_progress=cancel)
    [log] = store.recent_syncs(db)
    assert (log["status"], log["rows_upserted"], log["error"]) == (
        "interrupted", 600, "cancelled by the user")
    assert store.count_rows(db, "tasks") == 600
    assert store.get_watermark(db) == db.execute(
        "SELECT MAX(system_modstamp) FROM tasks").fetchone()[0]
    assert sync(db, client).mode == "incremental"
    assert store.count_rows(db, "tasks") == 650


def test_a_failure_inside_a_batch_counts_only_what_was_committed(
    org: FakeOrg, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.sync as sync_module

    monkeypatch.setattr(sync_module, "COMMIT_ROWS", 400)  # two pages a transaction
    org.add_tasks([call_task(i, NOW - timedelta(days=1, minutes=i)) for i in range(650)])
    real = sync_module._store_page

    def store_page(*args: Any) -> int:
        if args[-1] == 601:  # the fourth page (its first record's position)
            raise SyncError("disk full")
        return real(*args)

    monkeypatch.setattr(sync_module, "_store_page", store_page)
    with pytest.raises(SyncError):
        sync(db, client_for(org))
    [log] = store.recent_syncs(db)  # the third page was stored, then rolled back with it
    assert (log["status"], log["rows_upserted"]) == ("failed", 400)
    assert store.count_rows(db, "tasks") == 400


def test_the_summary_counts_every_task_read() -> None:
    result = SyncResult("full", None, "2026-03-10T11:58:00.000Z", upserted=2935, deleted=65,
                        rejected=2, api_calls=9)
    assert result.summary() == (
        "Synced 3,002 Tasks: 2,935 stored, 65 deleted, 2 rejected; 9 API calls")


def test_a_call_filter_salesforce_refuses_names_the_config(org: FakeOrg, db: Database) -> None:
    with pytest.raises(SyncError) as refused:
        sync(db, client_for(org), call_filter="Type == 'Call'")
    message = str(refused.value)
    assert message == (
        "query: MALFORMED_QUERY unexpected token: '=' (expecting a literal value) (the query "
        "carries call_filter from the config's [salesforce] section: check it)")
    [log] = store.recent_syncs(db)  # in the sync log, as every run is
    assert (log["status"], log["error"]) == ("failed", message)
    assert store.count_rows(db, "tasks") == 0


def test_ctrl_c_just_after_a_commit_still_counts_its_rows(
    org: FakeOrg, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import calltui.sync as sync_module

    monkeypatch.setattr(sync_module, "COMMIT_ROWS", 200)
    org.add_tasks([call_task(i, NOW - timedelta(days=1, minutes=i)) for i in range(450)])
    real = sync_module._store_batch

    def committed_then_interrupted(*args: Any) -> Any:
        real(*args)  # the first 200 rows are committed: Ctrl-C lands before the count
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_module, "_store_batch", committed_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        sync(db, client_for(org))
    [log] = store.recent_syncs(db)
    assert (log["status"], log["rows_upserted"], store.count_rows(db, "tasks")) == (
        "interrupted", 200, 200)
