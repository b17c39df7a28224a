"""The ``multiberts-stats`` command.

Each sub-command is one small function below that imports its module when it runs, so
``multiberts-stats checkpoints`` never pays for importing torch. A sub-command's function
``fn(argv: list[str]) -> int`` parses its own arguments.
"""

from __future__ import annotations

import sys


def _checkpoints(argv):
    from multiberts_stats.cli.checkpoints import cli_checkpoints

    return cli_checkpoints(argv)


def _tasks(argv):
    from multiberts_stats.cli.tasks import cli_tasks

    return cli_tasks(argv)


def _run(argv):
    from multiberts_stats.cli.run import cli_run

    return cli_run(argv)


def _status(argv):
    from multiberts_stats.cli.status import cli_status

    return cli_status(argv)


def _compare(argv):
    from multiberts_stats.cli.compare import cli_compare

    return cli_compare(argv)


def _report(argv):
    from multiberts_stats.cli.report import cli_report

    return cli_report(argv)


def _demo(argv):
    from multiberts_stats.cli.demo import cli_demo

    return cli_demo(argv)


def _published(argv):
    from multiberts_stats.cli.published import cli_published

    return cli_published(argv)


def _plan(argv):
    from multiberts_stats.cli.plan import main as cli_plan

    return cli_plan(argv)


# name -> (function, one-line help)
COMMANDS = {
    "checkpoints": (_checkpoints, "list a selection of checkpoints"),
    "tasks": (_tasks, "list the registered tasks"),
    "run": (_run, "run an experiment described in a TOML file, then print its results table"),
    "status": (_status, "what a store holds (tasks, methods, steps, layers, seeds, columns) and its jobs"),
    "compare": (_compare, "artifact-vs-procedure comparison from a store"),
    "report": (_report, "write a Markdown/HTML report with figures"),
    "demo": (_demo, "the offline end-to-end job (family -> runner -> store -> report)"),
    "published": (_published, "reproduce the MultiBERTs paper analyses from the published files"),
    "plan": (_plan, "seeds x runs x examples a target effect or width needs"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: multiberts-stats [--version] [--help] COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "options:",
              f"  {'-h, --help':<{width}}  show this message and exit",
              f"  {'--version':<{width}}  print the version of multiberts_stats and exit",
              "", "Run `multiberts-stats COMMAND --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] in ("--version", "-V"):
        from multiberts_stats import __version__

        print(f"multiberts-stats {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"multiberts-stats: unknown command {name!r}; expected one of: {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    fn, _ = COMMANDS[name]
    return int(fn(rest) or 0)
