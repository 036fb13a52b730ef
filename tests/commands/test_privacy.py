"""What `hookbin serve` leaves on disk is its user's alone, and its store's trouble is named:
real processes, umask 022, a real read-only file and file system (a full disk under load is
tests/reliability/test_disk_full.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from hookbin.commands.common import ExitStatus
from hookbin.store import open_store
from tests.disks import small_disk


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # inherited by the hookbin processes the test starts
    yield
    os.umask(old)


def test_serve_keeps_the_data_dir_database_wal_and_instance_file_private(serve, own_user_dirs, umask_022):
    data = Path(os.environ["XDG_DATA_HOME"]) / "hookbin"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an older hookbin left it
    served = serve("--no-tui")  # the default database, in the data directory
    try:
        assert served.post("/secret", b'{"api_key": "sk_live_123"}')[0] == 200
        files = {path.name: mode(path) for path in data.iterdir()}
        assert files == {
            "captures.db": 0o600,
            "captures.db-wal": 0o600,
            "captures.db-shm": 0o600,
            "captures.db.lock": 0o600,  # one writer per store: it names the hookbin serving
        }
        assert mode(data) == 0o700
        (instance,) = (own_user_dirs / "hookbin").iterdir()
        assert (mode(instance.parent), mode(instance)) == (0o700, 0o600)
        assert json.loads(instance.read_text())["db"] == str(data / "captures.db")
    finally:
        code, _, err = served.stop()
    assert code == 0, err
    assert list((own_user_dirs / "hookbin").iterdir()) == []


def test_a_directory_made_for_db_is_private_and_a_chosen_one_is_left_alone(serve, tmp_path, umask_022):
    tmp_path.chmod(0o755)
    served = serve("--no-tui", "--db", str(tmp_path / "new" / "sub" / "c.db"))
    served.post("/x", b"{}")
    served.stop()
    assert (mode(tmp_path), mode(tmp_path / "new"), mode(tmp_path / "new" / "sub")) == (0o755, 0o700, 0o700)
    assert mode(tmp_path / "new" / "sub" / "c.db") == 0o600


@contextlib.contextmanager
def read_only_file(db: Path):
    """`db` read-only for this user: mode 0444, or for root (who may write any file whatever
    its mode) immutable."""
    if os.geteuid() != 0:
        db.chmod(0o444)
        yield
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        pytest.skip("cannot make a file read-only for root here (chattr)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)


def test_serve_refuses_a_read_only_database_naming_it(hookbin, tmp_path):
    db = tmp_path / "c.db"
    with open_store(db):
        pass
    with read_only_file(db):
        result = hookbin("serve", "--no-tui", "--port", "0", "--db", str(db))
    assert result.returncode == ExitStatus.STORE
    assert result.stderr == f"hookbin: error: cannot store captures in {db}: the database {db} is read-only\n"


def test_serve_refuses_a_database_on_a_read_only_file_system_naming_it(hookbin, tmp_path):
    with small_disk(tmp_path / "ro", "1m") as disk:
        with open_store(disk / "c.db"):
            pass
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = hookbin("serve", "--no-tui", "--port", "0", "--db", str(disk / "c.db"))
    assert result.returncode == ExitStatus.STORE
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"the database {disk / 'c.db'} is read-only" in result.stderr
