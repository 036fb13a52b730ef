"""`hookbin respond`: read or change what a running hookbin answers, through its control API.

It finds running hookbins and their credentials in their instance files (`hookbin.instances`):
with one running nothing needs saying; with several, `--admin` chooses.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

import click

from hookbin.commands.common import CONTEXT, ExitStatus, Failure
from hookbin.config import runtime_dir
from hookbin.instances import AdminAddressError, Instance, admin_base, running, serving_at
from hookbin.spec import SpecError, parse_rule, parse_spec
from hookbin.textsafe import safe


def _not_the_control_api(admin: str, answered: str) -> Failure:
    return Failure(
        f"{admin} is not a hookbin control API (it answered {answered}); use the control API "
        "address `hookbin serve` prints, by default the catcher's port + 1",
        ExitStatus.USAGE,
    )


def _choice(instance: Instance) -> str:
    return (
        f"  --admin 127.0.0.1:{instance.admin_port}  catching on {safe(instance.url)}, "
        f"storing in {safe(instance.db)}, pid {instance.pid}"
    )


def _target(admin: str | None) -> tuple[str, str | None]:
    """The control API to call and its `Authorization` value (None when no running hookbin
    of this user listens at `admin`)."""
    found = running()
    if admin is not None:
        try:
            base = admin_base(admin)
        except AdminAddressError as exc:
            raise Failure(str(exc), ExitStatus.USAGE) from None
        instance = serving_at(base, found)
        return base, instance.authorization() if instance else None
    if not found:
        raise Failure(
            f"no running hookbin found (none has an instance file in {runtime_dir()}): start `hookbin serve`, "
            "or give --admin HOST:PORT"
        )
    if len(found) > 1:
        choices = "\n".join(_choice(instance) for instance in found)
        raise Failure(f"{len(found)} hookbins are running; choose one with --admin:\n{choices}", ExitStatus.USAGE)
    return found[0].admin_url, found[0].authorization()


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _responder_call(
    admin: str, authorization: str | None, method: str, payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`method` /api/responder on the control API at `admin`: the responder state it returns.

    Anything else that answers (the catcher port, another web server) is one clear line: the
    control API's answers are the responder state (with `spec`) or `{"error": …}`.
    """
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = urllib.request.Request(admin + "/api/responder", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            state = _json_or_none(response.read())
            status = f"{response.status} {safe(response.reason)}"
    except urllib.error.HTTPError as exc:
        error = _json_or_none(exc.read())
        if exc.code == 401 and authorization is None:
            raise Failure(
                f"{admin} asks for a credential, and no running hookbin of yours has its control API there "
                f"(instance files in {runtime_dir()}); leave out --admin to see the running ones"
            ) from None
        if exc.code == 401:
            raise Failure(
                f"{admin} refused the credential its instance file gives: is another program on that port now?"
            ) from None
        if isinstance(error, dict) and set(error) == {"error"} and isinstance(error["error"], str):
            raise Failure(safe(error["error"]), ExitStatus.USAGE if exc.code == 400 else ExitStatus.ERROR) from None
        raise _not_the_control_api(admin, f"{exc.code} {safe(str(exc.reason))}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Failure(f"cannot reach hookbin's control API at {admin}: {reason or type(exc).__name__}") from None
    if not (
        isinstance(state, dict) and isinstance(state.get("spec"), str) and isinstance(state.get("rules", []), list)
    ):
        raise _not_the_control_api(admin, f"{status} with something else")
    return state


@click.command("respond", context_settings=CONTEXT)
@click.argument("spec", required=False)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="'[METHOD] GLOB => SPEC'",
    help="Replace the rules with these. Repeatable.",
)
@click.option("--clear-rules", is_flag=True, help="Remove every rule.")
@click.option(
    "--new-run",
    is_flag=True,
    help="Start a new run with the same answer: attempt numbers and sequences start over.",
)
@click.option(
    "--admin",
    default=None,
    envvar="HOOKBIN_ADMIN",
    metavar="HOST:PORT",
    help="The control API of the hookbin to change (127.0.0.1:8081 or a URL); needed only when several run.",
)
def respond_command(
    spec: str | None, rules: tuple[str, ...], clear_rules: bool, new_run: bool, admin: str | None
) -> None:
    """Change what a running hookbin answers, from another shell. Each change starts a new
    run, an experiment of its own: attempts are numbered from #1 and sequences start over.

    Without SPEC or options, prints what it answers now. SPEC is a response spec such as
    503, '500,500,200', '429 retry-after=30', '200 delay=65s', timeout, close, reset,
    '30% 503'; `hookbin help specs` explains every word. The running hookbin and its control
    API's credential are found by themselves; when several run, choose one with --admin.

    \b
    Examples:
      hookbin respond 503
      hookbin respond '500,500,200'
      hookbin respond 200 --rule 'POST /segmanta/* => timeout'
      hookbin respond --new-run          repeat the experiment with the same answer
    """
    update: dict[str, Any] = {}
    if spec is not None:
        update["spec"] = spec
    if rules or clear_rules:
        update["rules"] = list(rules)
    if update or new_run:
        # Check locally first for a quick, identical message; the server checks again.
        try:
            if spec is not None:
                parse_spec(spec)
            for rule in rules:
                parse_rule(rule)
        except SpecError as exc:
            raise Failure(str(exc), ExitStatus.USAGE) from None
        state = _responder_call(*_target(admin), "PUT", update)
    else:
        state = _responder_call(*_target(admin), "GET")
    # The answer came over the network from wherever --admin points: through the text gate.
    click.echo(f"answering: {safe(state['spec'])}")
    for rule in state.get("rules", []):
        click.echo(f"rule:      {safe(str(rule))}")
    if isinstance(state.get("run"), int):
        click.echo(f"run:       {state['run']}{' (new)' if update or new_run else ''}")
