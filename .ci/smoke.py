"""Smoke test of an installed (not editable) hookbin: the files a wheel can forget, and one request
through `serve --no-tui`, `ls` and `show`. Usage: smoke.py PATH/TO/hookbin. Exits non-zero on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import resources


def main() -> None:
    exe = sys.argv[1]
    import hookbin

    assert "site-packages" in hookbin.__file__, f"not the installed package: {hookbin.__file__}"
    for name in ("tui/hookbin.tcss", "samples/segmanta-survey.json", "samples/segmanta-question.json"):
        assert resources.files("hookbin").joinpath(name).is_file(), f"missing from the wheel: {name}"
    print(subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip())

    db = os.path.join(tempfile.mkdtemp(prefix="hookbin-smoke-"), "c.db")
    server = subprocess.Popen(
        [exe, "serve", "--no-tui", "--json", "--port", "0", "--admin-port", "0", "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line:
                break
            for word in line.split():
                if word.startswith("http://127.0.0.1:") and "listening" in line and url is None:
                    url = word.rstrip(",/") + "/"
        assert url, "serve printed no URL"
        request = urllib.request.Request(
            url + "smoke?x=1", data=b'{"hello": "wheel"}', method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200, answer.status
        line = json.loads(server.stdout.readline())
        assert line["path"] == "/smoke", line
    finally:
        server.terminate()
        server.wait(timeout=20)
    listed = subprocess.run([exe, "ls", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout
    capture = json.loads(listed.splitlines()[0])
    shown = subprocess.run([exe, "show", capture["id"], "--db", db], capture_output=True, text=True, check=True)
    assert "wheel" in shown.stdout, shown.stdout
    print("smoke: the installed wheel serves, stores, lists and shows")


if __name__ == "__main__":
    main()
