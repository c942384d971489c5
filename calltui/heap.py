"""Memory settings for a sync: keep freed heap memory (glibc; elsewhere a no-op) and run
the cycle collector less often.

A REST page arrives as a 1.5 MB body and a 1.5 MB string, both freed before the
next page. glibc gives freed memory back to the kernel once more than twice the
largest such block is free at the top of the heap, which a page's worth is; so
every page starts on memory the kernel must find and zero again (half a page
fault per Task record, measured). On a virtual machine that hands free memory
back to its host, as many cloud machines do, each such first touch costs more
than decoding the record. Inside ``kept_heap`` blocks up to 32 MB come from the
heap and up to 256 MB of freed memory stays there for the next page; after it,
glibc's usual thresholds are back and what was kept is released.

A page's records are thousands of dicts and lists that live a few milliseconds and
are freed by reference counting; with Python's usual threshold of 700 the cycle
collector runs six times a page and now and then walks every object, about 1.5 µs a
Task in all (measured). ``fewer_collections`` raises the threshold above a page's
worth, so the collector runs only when garbage that counting cannot free builds up.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["fewer_collections", "kept_heap"]

YOUNG_OBJECTS = 50_000  # the collector's first threshold in ``fewer_collections``

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_DEFAULT = 128 * 1024  # both thresholds' starting value in glibc
_KEEP = 256 * 1024 * 1024  # freed memory kept at the top of the heap
_OWN_MAP = 32 * 1024 * 1024  # blocks this big or bigger still get a mapping of their own


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc has it, musl does not
    except (OSError, AttributeError):
        return None
    return libc


@contextmanager
def kept_heap() -> Iterator[None]:
    """Within the block, freed heap memory stays in the process (up to 256 MB)."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _OWN_MAP)
    libc.mallopt(_M_TRIM_THRESHOLD, _KEEP)
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT)
        libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT)
        libc.malloc_trim(0)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, the cycle collector waits for 50,000 new objects instead of 700."""
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], YOUNG_OBJECTS), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)
