"""`hookbin respond`: read or change what a running hookbin answers, through its control API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click

from hookbin.commands.common import CONTEXT, ExitStatus, Failure
from hookbin.config import DEFAULT_ADMIN
from hookbin.responder import SpecError, parse_rule, parse_spec


def _admin_call(admin: str, method: str, path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        admin.rstrip("/") + path, data=data, method=method,
        headers={"Content-Type": "application/json"} if data is not None else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except ValueError:
            message = exc.reason
        raise Failure(str(message), ExitStatus.USAGE if exc.code == 400 else ExitStatus.ERROR) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Failure(f"cannot reach hookbin's control API at {admin}: {reason}") from None


@click.command("respond", context_settings=CONTEXT)
@click.argument("spec", required=False)
@click.option("--rule", "rules", multiple=True, metavar="'[METHOD] GLOB => SPEC'",
              help="Replace the rules with these. Repeatable.")
@click.option("--clear-rules", is_flag=True, help="Remove every rule.")
@click.option("--admin", default=DEFAULT_ADMIN, show_default=True, envvar="HOOKBIN_ADMIN",
              help="The running hookbin's control API.")
def respond_command(spec: str | None, rules: tuple[str, ...], clear_rules: bool, admin: str) -> None:
    """Change what a running hookbin answers, from another shell.

    Without SPEC, prints what it answers now.

    \b
    Examples:
      hookbin respond 503
      hookbin respond '500,500,200'
      hookbin respond 200 --rule 'POST /segmanta/* => timeout'
    """
    update: dict[str, Any] = {}
    if spec is not None:
        update["spec"] = spec
    if rules or clear_rules:
        update["rules"] = list(rules)
    if update:
        # Check locally first for a quick, identical message; the server checks again.
        try:
            if spec is not None:
                parse_spec(spec)
            for rule in rules:
                parse_rule(rule)
        except SpecError as exc:
            raise Failure(str(exc), ExitStatus.USAGE) from None
        state = _admin_call(admin, "PUT", "/api/responder", update)
    else:
        state = _admin_call(admin, "GET", "/api/responder")
    click.echo(f"answering: {state['spec']}")
    for rule in state.get("rules", []):
        click.echo(f"rule:      {rule}")
