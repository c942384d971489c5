"""``calltui.heap``: freed memory stays in the process inside ``kept_heap``."""

from __future__ import annotations

import gc
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
def test_a_freed_block_is_reused_inside() -> None:
    size = 8 * 1024 * 1024  # 2,048 pages of 4 KB
    with heap.kept_heap():
        kept = faults_for_a_fresh_block(size)
    assert kept < 200  # the second block took the first one's memory


class RecordingLibc:
    """Stands in for glibc to show which thresholds ``kept_heap`` sets and restores."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad, 0))
        return 1


def test_glibcs_thresholds_are_back_after_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = RecordingLibc()
    monkeypatch.setattr(heap, "_glibc", lambda: libc)
    with pytest.raises(RuntimeError), heap.kept_heap():
        assert libc.calls == [("mallopt", -3, 32 << 20), ("mallopt", -1, 256 << 20)]
        raise RuntimeError("a sync that fails")
    assert libc.calls[2:] == [("mallopt", -3, 128 << 10), ("mallopt", -1, 128 << 10),
                              ("malloc_trim", 0, 0)]


def test_kept_heap_is_a_plain_block_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    with heap.kept_heap():
        assert bytes(10) == b"\0" * 10


def test_fewer_collections_raises_the_first_threshold_and_puts_it_back() -> None:
    saved = gc.get_threshold()
    with pytest.raises(RuntimeError), heap.fewer_collections():
        assert gc.get_threshold() == (max(saved[0], heap.YOUNG_OBJECTS), *saved[1:])
        raise RuntimeError("a sync that fails")
    assert gc.get_threshold() == saved


def test_cycles_are_still_collected_inside() -> None:
    class Node:
        pass

    with heap.fewer_collections():
        before = gc.get_count()[0]
        for _ in range(heap.YOUNG_OBJECTS + 1_000):  # each a cycle reference counting keeps
            node = Node()
            node.me = node  # type: ignore[attr-defined]
        assert gc.get_count()[0] < before + heap.YOUNG_OBJECTS  # the collector ran meanwhile
