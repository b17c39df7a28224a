"""What every command shares: one help style (each option states its default), one name per
concept (``--seed``, ``--confidence-level``; the older spellings kept as hidden aliases), and
library errors rewritten to name the command's flags instead of Python parameters."""

from __future__ import annotations

import argparse
import re
import sys

__all__ = ["HelpFormatter", "parser", "add_seed", "add_confidence_level", "add_nboot",
           "confidence_level", "flag_error", "fail"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless the help already says it (an explicit
    "default" in the text) or there is no value to state (``None``, ``False``, a flag)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or "%(default)" in text:
            return text
        if action.default in (None, False, argparse.SUPPRESS) or isinstance(
                action, (argparse._StoreConstAction, argparse._HelpAction, argparse._VersionAction)):
            return text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text
        return (text + " " if text else "") + "(default: %(default)s)"


def parser(prog: str, description: str, **kw) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the package's help style."""
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter,
                                   **kw)


def add_seed(p: argparse.ArgumentParser, default: int = 0) -> None:
    """``--seed N`` (the random seed of the bootstrap); ``--rng`` is its hidden older name."""
    p.add_argument("--seed", type=int, default=default,
                   help=f"random seed of the bootstrap (default {default})")
    p.add_argument("--rng", dest="seed", type=int, help=argparse.SUPPRESS)


def add_confidence_level(p: argparse.ArgumentParser, default: float = 0.95) -> None:
    """``--confidence-level L`` in (0, 1); ``--alpha A`` (= 1 - L) is its hidden older form."""
    p.add_argument("--confidence-level", type=float, default=None,
                   help=f"level of the intervals, in (0, 1) (default {default})")
    p.add_argument("--alpha", type=float, default=None, help=argparse.SUPPRESS)
    p.set_defaults(_confidence_default=default)


def add_nboot(p: argparse.ArgumentParser, default: int = 1000) -> None:
    p.add_argument("--nboot", type=int, default=default,
                   help=f"Multi-Bootstrap replicates (default {default})")


def confidence_level(args, prog: str) -> float:
    """The confidence level the user asked for (``--confidence-level``, or ``1 - --alpha``)."""
    level, alpha = args.confidence_level, args.alpha
    if alpha is not None:
        if level is not None:
            raise SystemExit(fail(prog, "give --confidence-level or its older form --alpha, not both."))
        print(f"{prog}: --alpha is deprecated; use --confidence-level {1 - alpha:g}.", file=sys.stderr)
        level = 1.0 - alpha
    level = args._confidence_default if level is None else level
    if not 0.0 < level < 1.0:
        raise SystemExit(fail(prog, f"--confidence-level must be in (0, 1). Got {level:g} instead."))
    return level


_PARAM = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`( parameter| filter| key)?")
_ASSIGN = re.compile(r"\b([a-z_][a-z0-9_]*)=(?=[\[\'\"(0-9A-Za-z])")


def flag_error(exc: BaseException, flags: dict[str, str], *, parameters_only: bool = False) -> str:
    """The text of a library error with its Python parameter names replaced by CLI flags.

    ``flags`` maps a parameter name to its flag (``{"occupations": "--occupations"}``); both the
    ```name``` form of the messages and the ``name=`` form of their hints are rewritten
    (``parameters_only``: only "The `name` parameter of ..." forms, e.g. where the same name is
    also a key of a file).

    Examples
    --------
    >>> flag_error(ValueError("The `alpha` parameter of f must be in (0, 1). Got 2 instead."),
    ...            {"alpha": "--alpha"})
    'The `--alpha` option must be in (0, 1). Got 2 instead.'
    >>> flag_error(ValueError("pass average_over=['layer'] to average them"),
    ...            {"average_over": "--average-over"})
    'pass --average-over layer to average them'
    """
    text = str(exc)
    if isinstance(exc, KeyError) and len(exc.args) == 1 and text.startswith(("'", '"')):
        text = str(exc.args[0])

    def tick(m: re.Match) -> str:
        name = m.group(1)
        if name not in flags or (parameters_only and m.group(2) != " parameter"):
            return m.group(0)
        kind = " option" if flags[name].startswith("-") else " argument"
        return f"`{flags[name]}`" + (kind if m.group(2) == " parameter" else (m.group(2) or ""))

    text = _PARAM.sub(tick, text)
    text = re.sub(r"(`--[a-z-]+`) table passed to [A-Za-z_][A-Za-z0-9_.]*", r"\1 rows", text)
    text = re.sub(r"(`[A-Z-][A-Za-z-]*` (?:option|argument)) of [A-Za-z_][A-Za-z0-9_.:-]*", r"\1", text)
    if parameters_only:
        return text
    text = re.sub(r"`([a-z_][a-z0-9_]*)=`",
                  lambda m: f"`{flags[m.group(1)]}`" if m.group(1) in flags else m.group(0), text)

    def assign(m: re.Match) -> str:
        name = m.group(1)
        return f"{flags[name]} " if name in flags else m.group(0)

    text = _ASSIGN.sub(assign, text)
    # a list given to an option that is repeated or comma-separated on the command line
    text = re.sub(r"(--[a-z-]+) \[([^\]]*)\]", lambda m: m.group(1) + " " + ",".join(
        x.strip().strip("'\"") for x in m.group(2).split(",")), text)
    return text


def fail(prog: str, message: str, code: int = 2) -> int:
    """Print ``prog: error: message`` on stderr and return the exit code."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code
