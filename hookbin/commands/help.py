"""`hookbin help [TOPIC]`: the command list, or a longer text on one topic (`specs`)."""

from __future__ import annotations

import click

from hookbin.commands.common import CONTEXT, ExitStatus, Failure
from hookbin.topics import TOPICS


@click.command("help", context_settings=CONTEXT)
@click.argument("topic", required=False, metavar="[TOPIC]")
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> None:
    """Explain a topic: `specs` (every word of a response spec, with examples).

    Without TOPIC, the list of commands.

    \b
    Examples:
      hookbin help specs
      hookbin serve --help
    """
    if topic is None:
        parent = ctx.parent
        click.echo(parent.get_help() if parent is not None else ctx.get_help())
        click.echo(f"\nHelp topics: {', '.join(TOPICS)} (hookbin help TOPIC)")
        return
    text = TOPICS.get(topic.lower())
    if text is None:
        raise Failure(f"no help topic {topic!r}: try {', '.join(TOPICS)}", ExitStatus.USAGE)
    click.echo(text, nl=False)
