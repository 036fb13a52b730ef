"""The control API is its owner's alone, over real HTTP to a real hookbin on loopback: the
credential on every request, exact loopback Host names, JSON for every write however it is
framed, loopback only whatever --host says, and the instance file that carries the credential."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat

import pytest

from hookbin.instances import running
from hookbin.responder import Responder
from hookbin.server.runner import HookbinServer
from hookbin.store import open_store

ENDPOINTS = [
    ("GET", "/api/status", None),
    ("GET", "/api/responder", None),
    ("PUT", "/api/responder", {"spec": "503"}),
    ("GET", "/api/captures", None),
    ("GET", "/api/captures/{id}", None),
    ("DELETE", "/api/captures", {}),
]


async def raw(port: int, request: bytes) -> tuple[int, bytes]:
    """Send `request` exactly as written (no client tidies the Host or the framing); the status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer wrong", "Bearer {almost}", "Basic {credential}", "{credential}", "Bearer  {credential}x"],
    ids=["none", "empty", "wrong", "one-char-off", "basic-scheme", "no-scheme", "extra-char"],
)
async def test_without_the_credential_every_endpoint_answers_401_and_changes_nothing(
    start_hookbin, http, authorization
):
    server = await start_hookbin("200")
    async with http.post(server.url + "/kept", data=b"{}") as answer:
        assert answer.status == 200
    capture_id = server.store.list_captures()[0].id
    credential = server.credential
    almost = credential[:-1] + ("A" if credential[-1] != "A" else "B")
    for method, path, payload in ENDPOINTS:
        headers = {}
        if authorization is not None:
            headers["Authorization"] = authorization.format(credential=credential, almost=almost)
        url = server.admin_url + path.format(id=capture_id)
        async with http.request(method, url, json=payload, headers=headers) as answer:
            assert answer.status == 401, (method, path)
            assert answer.headers["WWW-Authenticate"] == 'Bearer realm="hookbin control API"'
            error = (await answer.json())["error"]
            assert "credential" in error and credential not in error
    assert server.responder.spec.text == "200"
    assert server.store.count() == 1


async def test_with_the_credential_every_endpoint_answers(start_hookbin, http, control):
    server = await start_hookbin("200")
    async with http.post(server.url + "/kept", data=b"{}") as answer:
        assert answer.status == 200
    capture_id = server.store.list_captures()[0].id
    answers = {}
    for method, path, payload in ENDPOINTS:
        status, body = await control(server, method, path.format(id=capture_id), json=payload)
        answers[(method, path)] = (status, body)
    assert {key: status for key, (status, _) in answers.items()} == {(m, p): 200 for m, p, _ in ENDPOINTS}
    assert answers[("PUT", "/api/responder")][1]["spec"] == "503"
    assert answers[("GET", "/api/captures/{id}")][1]["path"] == "/kept"
    assert answers[("DELETE", "/api/captures")][1] == {"deleted": 1}
    # The scheme's name is not case-sensitive (RFC 9110); the credential is.
    status, _ = await control(server, "GET", "/api/status", headers={"Authorization": f"bearer {server.credential}"})
    assert status == 200


async def test_each_running_hookbin_has_its_own_credential(start_hookbin, http):
    first, second = await start_hookbin(db=":memory:"), await start_hookbin(db=":memory:")
    assert first.credential != second.credential and len(first.credential) >= 40
    headers = {"Authorization": f"Bearer {first.credential}"}
    async with http.get(second.admin_url + "/api/status", headers=headers) as answer:
        assert answer.status == 401


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1",
        "localhost",
        "127.0.0.1:{other}",
        "localhost.:{port}",
        "localhost.evil.example:{port}",
        "evil.localhost:{port}",
        "127.0.0.2:{port}",
        "0.0.0.0:{port}",
        "2130706433:{port}",
        "::1:{port}",
        "[::1]",
        "[::ffff:127.0.0.1]:{port}",
        "127.0.0.1:{port}@evil.example",
        "127.0.0.1:0{port}",
        "",
    ],
)
async def test_a_host_that_is_not_exactly_loopback_with_this_port_is_refused(start_hookbin, host):
    server = await start_hookbin(db=":memory:")
    port = server.admin_port
    name = host.format(port=port, other=port + 1)
    request = (
        f"GET /api/status HTTP/1.1\r\nHost: {name}\r\nAuthorization: Bearer {server.credential}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    status, body = await raw(port, request)
    assert status == 403 and b"127.0.0.1, localhost or [::1]" in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"])
async def test_the_loopback_names_with_this_port_are_answered(start_hookbin, host):
    server = await start_hookbin(db=":memory:")
    request = (
        f"GET /api/status HTTP/1.1\r\nHost: {host.format(port=server.admin_port)}\r\n"
        f"Authorization: Bearer {server.credential}\r\nConnection: close\r\n\r\n"
    ).encode()
    status, body = await raw(server.admin_port, request)
    assert status == 200 and json.loads(body)["received"] == 0


async def test_two_host_headers_are_refused(start_hookbin):
    server = await start_hookbin(db=":memory:")
    port = server.admin_port
    request = (
        f"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n"
        f"Authorization: Bearer {server.credential}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert (await raw(port, request))[0] in (400, 403)


def chunked_put(port: int, credential: str, content_type: str | None, body: bytes) -> bytes:
    headers = f"PUT /api/responder HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {credential}\r\n"
    if content_type is not None:
        headers += f"Content-Type: {content_type}\r\n"
    headers += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    return headers.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_chunked_write_that_is_not_json_is_refused(start_hookbin, content_type):
    server = await start_hookbin("200", db=":memory:")
    request = chunked_put(server.admin_port, server.credential, content_type, b'{"spec": "503"}')
    status, body = await raw(server.admin_port, request)
    assert status == 415 and b"send JSON" in body
    assert server.responder.spec.text == "200"


async def test_a_chunked_json_write_is_taken(start_hookbin):
    server = await start_hookbin("200", db=":memory:")
    request = chunked_put(server.admin_port, server.credential, "application/json", b'{"spec": "503"}')
    status, body = await raw(server.admin_port, request)
    assert status == 200 and json.loads(body)["spec"] == "503"
    assert server.responder.spec.text == "503"


async def test_a_form_or_a_bare_delete_is_refused(start_hookbin, http):
    server = await start_hookbin("200")
    async with http.post(server.url + "/kept", data=b"{}"):
        pass
    auth = {"Authorization": f"Bearer {server.credential}"}
    form = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    async with http.put(server.admin_url + "/api/responder", data="spec=503", headers=form) as answer:
        assert answer.status == 415
    async with http.delete(server.admin_url + "/api/captures", headers=auth) as answer:
        assert answer.status == 415
    assert server.responder.spec.text == "200" and server.store.count() == 1


async def test_the_catcher_port_never_answers_as_the_control_api(start_hookbin, http):
    server = await start_hookbin()
    headers = {"Authorization": f"Bearer {server.credential}"}
    async with http.get(server.url + "/api/responder", headers=headers) as answer:  # just another capture
        assert answer.status == 200 and "spec" not in await answer.json()


def this_machines_address() -> str | None:
    """An address of this machine other than loopback, or None (no network interface)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # connecting a UDP socket sends nothing
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_the_control_api_stays_on_loopback_when_the_catcher_listens_everywhere(tmp_path, http):
    address = this_machines_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    store = open_store(":memory:")
    server = HookbinServer(store, Responder("200"), host="0.0.0.0", port=0)
    await server.start()
    try:
        assert server.admin_url.startswith("http://127.0.0.1:")
        async with http.post(f"http://{address}:{server.port}/from-the-network", data=b"{}") as answer:
            assert answer.status == 200
        with pytest.raises(OSError):
            await asyncio.open_connection(address, server.admin_port)
    finally:
        await server.stop()
        store.close()


async def test_the_instance_file_is_private_names_the_hookbin_and_goes_when_it_stops(tmp_path, own_user_dirs):
    old = os.umask(0o022)
    try:
        store = open_store(tmp_path / "c.db")
        server = HookbinServer(store, Responder("200"), port=0)
        await server.start()
    finally:
        os.umask(old)
    try:
        path = server.instance_file
        assert path is not None and path.parent == own_user_dirs / "hookbin"
        assert (mode(path.parent), mode(path)) == (0o700, 0o600)
        assert json.loads(path.read_text()) == {
            "pid": os.getpid(),
            "url": server.url,
            "admin_url": server.admin_url,
            "db": str(tmp_path / "c.db"),
            "credential": server.credential,
        }
        assert [instance.admin_url for instance in running()] == [server.admin_url]
    finally:
        await server.stop()
        store.close()
    assert not path.exists() and running() == []


async def test_without_a_control_api_there_is_no_instance_file(start_hookbin, own_user_dirs):
    server = await start_hookbin(db=":memory:", admin_port=0)
    assert server.admin_url is None and server.instance_file is None
    assert running() == []
