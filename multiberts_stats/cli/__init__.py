"""The ``multiberts-stats`` command.

Each sub-command lives beside the code it drives and is imported only when it is used, so
``multiberts-stats checkpoints`` never pays for importing torch. A sub-command is a function
``fn(argv: list[str]) -> int`` that parses its own arguments.
"""

from __future__ import annotations

import sys
from importlib import import_module

# name -> ("module:function", one-line help)
COMMANDS = {
    "checkpoints": ("multiberts_stats.cli.checkpoints:cli_checkpoints", "list a selection of checkpoints"),
    "tasks": ("multiberts_stats.cli.tasks:cli_tasks", "list the registered tasks"),
    "run": ("multiberts_stats.cli.run:cli_run", "run an experiment described in a TOML file"),
    "status": ("multiberts_stats.cli.status:cli_status", "show done / pending / failed jobs of a store"),
    "compare": ("multiberts_stats.cli.compare:cli_compare", "artifact-vs-procedure comparison from a store"),
    "report": ("multiberts_stats.cli.report:cli_report", "write a Markdown/HTML report with figures"),
    "demo": ("multiberts_stats.cli.demo:cli_demo", "the offline end-to-end job (family -> runner -> store -> report)"),
    "published": ("multiberts_stats.cli.published:cli_published", "reproduce the MultiBERTs paper analyses from the published files"),
    "plan": ("multiberts_stats.cli.plan:main", "seeds x runs x examples a target effect or width needs"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: multiberts-stats COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "options:", "  -h, --help  show this message", "  --version   print the version",
              "", "Run `multiberts-stats COMMAND --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from multiberts_stats import __version__

        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"multiberts-stats: unknown command {name!r}; expected one of: {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    target, _ = COMMANDS[name]
    module, func = target.split(":")
    return int(getattr(import_module(module), func)(rest) or 0)
