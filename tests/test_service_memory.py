"""The service caps glibc's malloc arenas (RELIABILITY.md, Memory)."""

from __future__ import annotations

import platform

import pytest

from codesuggest.service.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_arena_cap_is_applied_on_glibc():
    assert limit_malloc_arenas(2) is True


def test_a_refused_setting_is_reported_not_raised(monkeypatch):
    import ctypes

    def no_libc(*args, **kwargs):
        raise OSError("no C library here")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert limit_malloc_arenas(2) is False
