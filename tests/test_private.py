"""Private files and directories whatever the umask, and the SQLite files the store leaves on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hookbin.private import private_dir, private_file, write_private
from hookbin.store import open_store
from tests.factories import tcapture


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_private_directory_and_its_missing_parents_are_0700(tmp_path, umask_022):
    made = private_dir(tmp_path / "a" / "b")
    assert made == tmp_path / "a" / "b"
    assert (mode(tmp_path / "a"), mode(made)) == (0o700, 0o700)
    made.chmod(0o755)
    private_dir(made)
    assert mode(made) == 0o700


def test_a_directory_the_user_chose_is_left_as_it_is(tmp_path, umask_022):
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    private_dir(chosen, tighten=False)
    private_dir(chosen / "new", tighten=False)
    assert (mode(chosen), mode(chosen / "new")) == (0o755, 0o700)


def test_private_files_are_0600_new_or_old(tmp_path, umask_022):
    new = tmp_path / "new"
    private_file(new)
    old = tmp_path / "old"
    old.write_bytes(b"kept")
    old.chmod(0o644)
    private_file(old)
    private_file(tmp_path / "absent", create=False)
    assert (mode(new), mode(old), old.read_bytes()) == (0o600, 0o600, b"kept")
    assert not (tmp_path / "absent").exists()


def test_tightening_never_grants_a_permission(tmp_path, umask_022):
    read_only = tmp_path / "read-only"
    read_only.write_bytes(b"")
    read_only.chmod(0o444)
    private_file(read_only)
    directory = tmp_path / "directory"
    directory.mkdir()
    directory.chmod(0o555)
    private_dir(directory)
    assert (mode(read_only), mode(directory)) == (0o400, 0o500)


def test_write_private_replaces_whole_files_0600_and_leaves_no_temporary(tmp_path, umask_022):
    path = tmp_path / "file"
    path.write_bytes(b"old content, longer than the new")
    path.chmod(0o666)
    write_private(path, b"new")
    assert (path.read_bytes(), mode(path)) == (b"new", 0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_write_private_never_writes_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "file").symlink_to(victim)
    with pytest.raises(OSError):
        write_private(tmp_path / "file", b"overwritten")
    assert victim.read_text() == "keep"


def test_the_database_and_the_files_sqlite_creates_later_are_0600(tmp_path, umask_022):
    db = tmp_path / "new" / "captures.db"
    with open_store(db) as store:
        store.add(tcapture(seq=1))
        files = {path.name: mode(path) for path in db.parent.iterdir()}
        assert files == {"captures.db": 0o600, "captures.db-wal": 0o600, "captures.db-shm": 0o600}
        assert mode(db.parent) == 0o700


def test_a_database_an_older_hookbin_left_readable_is_tightened(tmp_path, umask_022):
    db = tmp_path / "captures.db"
    with open_store(db) as store:
        store.add(tcapture(seq=1))
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        for path in (db, wal, shm):
            path.chmod(0o644)
        with open_store(db) as again:  # ls, show, serve: whoever opens it next
            assert again.count() == 1
            assert (mode(db), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
