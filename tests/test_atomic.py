"""The one atomic-write helper: readers see the old or the new output, whole; nothing is left over."""

import pytest

from codesuggest.atomic import atomic_path


def test_a_file_is_replaced_and_no_temporary_is_left(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible before the block ends
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_folder_replaces_a_folder(tmp_path):
    target = tmp_path / "index"
    target.mkdir()
    (target / "stale").write_text("x")
    with atomic_path(target, directory=True, durable=True) as tmp:
        (tmp / "fresh").write_text("y")
    assert [p.name for p in target.iterdir()] == ["fresh"]
    assert [p.name for p in tmp_path.iterdir()] == ["index"]


def test_an_error_keeps_the_old_output_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, directory=True) as tmp:
        (tmp / "half").write_text("written")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_without_overwrite_an_existing_folder_is_not_replaced(tmp_path):
    target = tmp_path / "v1"
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    with pytest.raises(OSError), atomic_path(target, directory=True, overwrite=False) as tmp:
        (tmp / "manifest.json").write_text('{"other": 1}')
    assert (target / "manifest.json").read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["v1"]


def test_the_parent_folder_is_created(tmp_path):
    with atomic_path(tmp_path / "a" / "b" / "out.bin") as tmp:
        tmp.write_bytes(b"1")
    assert (tmp_path / "a" / "b" / "out.bin").read_bytes() == b"1"
