"""``calltui.heap``: freed memory stays in the process inside ``kept_heap``."""

from __future__ import annotations

import resource

import pytest

from calltui import heap

glibc = pytest.mark.skipif(heap._glibc() is None, reason="glibc's mallopt only")


def faults_for_a_fresh_block(size: int) -> int:
    """Minor page faults taken by filling a new ``size``-byte block, after one was freed."""
    block = b"x" * size  # malloc, then every page written
    del block
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = b"x" * size  # malloc, then every page written
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    del block
    return after - before


@glibc
def test_a_freed_block_is_reused_inside_and_given_back_after() -> None:
    size = 8 * 1024 * 1024  # 2,048 pages of 4 KB
    with heap.kept_heap():
        kept = faults_for_a_fresh_block(size)
    after = faults_for_a_fresh_block(size)
    assert kept < 200  # the second block took the first one's memory
    assert after > 1000  # back to glibc's thresholds: the block was given back, and mapped anew


def test_kept_heap_is_a_plain_block_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    with heap.kept_heap():
        assert bytes(10) == b"\0" * 10
