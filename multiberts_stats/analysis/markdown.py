"""Markdown pieces of the analyses' outputs, and the small Markdown-to-HTML converter of the
report (headings, tables, images, block quotes, list items, emphasis and code).

No dependency beyond the standard library, numpy and pandas (no ``tabulate``, no
``markdown``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["fmt", "markdown_to_html", "md_table", "md_warnings"]


def fmt(x, digits: int = 4) -> str:
    """A table cell: floats to ``digits`` significant digits (small ones in e-notation).

    Examples
    --------
    >>> fmt(0.123456), fmt(0.0001234), fmt(None), fmt("a")
    ('0.1235', '1.23e-04', '', 'a')
    """
    if x is None:
        return ""
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            return str(x)
        return f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"
    return str(x)


def md_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table of ``df`` (no index).

    Examples
    --------
    >>> print(md_table(pd.DataFrame({"a": [1], "b": [0.5]})))
    | a | b |
    |---|---|
    | 1 | 0.5 |
    """
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(fmt(v, digits).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def md_warnings(ws: Sequence[str]) -> str:
    """Warnings as Markdown block quotes ("> **Warning:** ..."), or ``""`` for none."""
    if not ws:
        return ""
    return "\n>\n".join(f"> **Warning:** {w}" for w in ws) + "\n\n"


def _inline(s: str) -> str:
    s = html.escape(s)
    s = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2" style="max-width:100%">', s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", s)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    return s


def markdown_to_html(text: str, title: str) -> str:
    """A standalone HTML page of the Markdown the report writes.

    Examples
    --------
    >>> page = markdown_to_html("# T\\n\\n| a |\\n|---|\\n| 1 |", "T")
    >>> "<h1>T</h1>" in page and "<td>1</td>" in page
    True
    >>> "<ul>\\n<li>a</li>\\n<li>b</li>\\n</ul>" in markdown_to_html("- a\\n- b", "T")
    True
    """
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            head = [c.strip() for c in ln.strip("|").split(" | ")]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head)
                       + "</tr></thead><tbody>")
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip("|").split(" | ")]
                out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
                i += 1
            out.append("</tbody></table>")
            continue
        m = re.match(r"^(#{1,6}) (.*)", ln)
        if m:
            n = len(m.group(1))
            out.append(f"<h{n}>{_inline(m.group(2))}</h{n}>")
        elif ln.startswith(">"):
            body = ln.lstrip("> ").strip()
            if body:
                out.append(f'<p style="color:#a00;border-left:4px solid #a00;padding-left:8px">'
                           f"{_inline(body)}</p>")
        elif ln.startswith("- "):  # a list: consecutive items inside one <ul>
            out.append("<ul>")
            while i < len(lines) and lines[i].startswith("- "):
                out.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("</ul>")
            continue
        elif ln.strip():
            out.append(f"<p>{_inline(ln)}</p>")
        i += 1
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n")
