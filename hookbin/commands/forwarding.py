"""`hookbin serve --forward`: its options, the forwarder they make, and what the startup lines say."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hookbin.commands.common import F, positive_duration, url_param
from hookbin.config import DEFAULT_FORWARD_TIMEOUT

if TYPE_CHECKING:
    from hookbin.server.forward import Forwarder

MODES = ("app", "mirror")
"""`app`: the sender gets the app's answer; `mirror`: it gets hookbin's, the app a copy."""


def forward_options(command: F) -> F:
    """`--forward URL`, `--forward-mode` and `--forward-timeout`, for `hookbin serve`."""
    options = (
        click.option(
            "--forward",
            default=None,
            callback=url_param,
            envvar="HOOKBIN_FORWARD",
            metavar="URL",
            help="Also send each request to your app at URL (the captured path and query appended).",
        ),
        click.option(
            "--forward-mode",
            type=click.Choice(MODES),
            default="app",
            show_default=True,
            envvar="HOOKBIN_FORWARD_MODE",
            help="app: the sender gets your app's answer; mirror: it gets hookbin's, your app a copy.",
        ),
        click.option(
            "--forward-timeout",
            default=DEFAULT_FORWARD_TIMEOUT,
            show_default=True,
            callback=positive_duration,
            envvar="HOOKBIN_FORWARD_TIMEOUT",
            metavar="DURATION",
            help="How long your app may take to answer a forwarded request; then the sender gets 504.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def make_forwarder(url: str | None, mode: str, timeout: float, max_body: int) -> Forwarder | None:
    """The forwarder the options ask for (None without `--forward`): it sends with the replay
    client, so the app gets each request byte for byte, as `hookbin replay` sends it, on
    connections kept open for the whole serve."""
    if url is None:
        return None
    from hookbin.client.replay import Connections
    from hookbin.server.forward import Forwarder

    return Forwarder(url, Connections(), timeout=timeout, keep=max_body, mirror=mode == "mirror")


def forwarding_line(forwarder: Forwarder | None) -> str | None:
    """What the startup lines say about `--forward`, or None without it."""
    if forwarder is None:
        return None
    if forwarder.mirror:
        return f"forwarding a copy of each request to {forwarder.url}; senders get hookbin's answers"
    return f"forwarding each request to {forwarder.url}; senders get its answers (502 when it is down)"
