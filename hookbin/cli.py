"""The `hookbin` command line: one click group whose commands are imported only when needed.

Each command lives in `hookbin.commands`; `COMMANDS` says where. `hookbin ls` therefore loads
the store but neither aiohttp nor Textual, and `hookbin --version` loads next to nothing.
Errors a user can cause print one line (`hookbin: error: ...`) and exit with a named status;
tracebacks are for bugs only.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from hookbin import __version__
from hookbin.commands.common import CONTEXT, ExitStatus

COMMANDS = {
    "serve": "hookbin.commands.serve:serve_command",
    "ls": "hookbin.commands.captures:ls_command",
    "show": "hookbin.commands.captures:show_command",
    "respond": "hookbin.commands.respond:respond_command",
    "send": "hookbin.commands.send:send_command",
    "replay": "hookbin.commands.replay:replay_command",
    "report": "hookbin.commands.report:report_command",
    "deliveries": "hookbin.commands.report:deliveries_command",
    "export": "hookbin.commands.export:export_command",
    "import": "hookbin.commands.export:import_command",
    "clear": "hookbin.commands.export:clear_command",
    "help": "hookbin.commands.help:help_command",
}
"""Command name -> `module:attribute` of its click command, in the order help lists them."""


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())
"""What click 8.2+ raises for a group run without a command; older clicks print the help themselves."""


class HookbinGroup(click.Group):
    """The `hookbin` group: commands load lazily (click's LazyGroup pattern), errors are one line."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy_commands, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy_commands.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line. In standalone mode (the default, and what click's `CliRunner`
        uses) a user's error is one `hookbin: error: …` line and a named exit status."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name or "hookbin", complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # a bare `hookbin`: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            message = exc.format_message()
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                message += f" (see `{exc.ctx.command_path} --help`)"
            click.echo(f"hookbin: error: {message}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("hookbin: interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
        except KeyboardInterrupt:
            sys.exit(ExitStatus.INTERRUPTED)
        sys.exit(result if isinstance(result, int) else ExitStatus.OK)


@click.group("hookbin", cls=HookbinGroup, lazy_commands=COMMANDS, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="hookbin")
def cli() -> None:
    """Catch webhooks locally, see exactly what arrives, and choose what to answer.

    \b
    Start here:
      hookbin serve                 catch on http://127.0.0.1:8080 with the terminal UI
      hookbin serve --no-tui        the same, one log line per request
      hookbin ls / hookbin show ID  look at what was caught
      hookbin help specs            every word of a response spec
    """


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the CLI with one-line errors (the `hookbin` entry point)."""
    sys.exit(cli.main(args=argv, prog_name="hookbin"))  # main exits itself; sys.exit says so to mypy
