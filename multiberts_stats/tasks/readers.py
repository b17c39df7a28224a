"""Readers for the original file formats: GLUE-style TSV, CoNLL-U, CSV / TSV / JSONL tables.

Nothing here imports torch, transformers or datasets. Every reader reports malformed input with
the file and the line number; nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
import warnings
from pathlib import Path

import pandas as pd

from multiberts_stats.errors import DataFileError, DataWarning, InputError

__all__ = [
    "TaskError",
    "MalformedFileError",
    "DataNotFoundError",
    "read_tsv",
    "read_conllu",
    "read_table",
    "task_file",
]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class TaskError(InputError):
    """Bad task definition or bad task data (unknown task, missing column, bad label, ...)."""


class MalformedFileError(TaskError):
    """A data file has lines that do not parse; ``lines`` lists ``(line_number, reason)``."""

    def __init__(self, message: str, path=None, lines=None):
        super().__init__(message)
        self.path = path
        self.lines = list(lines or [])


class DataNotFoundError(DataFileError):
    """No local file and no reachable hub for a task's data; the message says where it looked."""


def _require_file(path: Path, what: str = "data file") -> Path:
    path = Path(path)
    if not path.is_file():
        found = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else None
        extra = (f" The folder {path.parent} holds: {found}." if found is not None
                 else f" The folder {path.parent} does not exist.")
        raise DataNotFoundError(f"The {what} {path} does not exist.{extra}")
    return path


def _report_bad(bad: list[tuple[int, str]], path: Path, on_bad_lines: str, n_total: int):
    if not bad:
        return
    shown = "; ".join(f"line {ln}: {why}" for ln, why in bad[:10])
    more = f" (and {len(bad) - 10} more)" if len(bad) > 10 else ""
    msg = f"{path}: {len(bad)} malformed line(s) out of {n_total}: {shown}{more}."
    if on_bad_lines == "warn":
        warnings.warn(msg + " These lines were skipped.", DataWarning, stacklevel=3)
        return
    raise MalformedFileError(msg + " Pass on_bad_lines='warn' to skip them with a warning.",
                             path=path, lines=bad)


def _text_encoding(encoding: str) -> str:
    if not isinstance(encoding, str) or not encoding:
        raise TaskError(f"The `encoding` parameter must be a text encoding name such as 'utf-8' or "
                        f"'latin-1'. Got {encoding!r} instead.")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise TaskError(f"The `encoding` parameter must name a known text encoding ('utf-8', "
                        f"'latin-1', 'cp1252', ...). Got {encoding!r} instead.") from None
    # a UTF-8 byte-order mark is never data
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> TaskError:
    """A decoding failure as an error naming the file, the line and the `encoding` option."""
    enc = "utf-8" if encoding == "utf-8-sig" else encoding
    line, col, byte = None, None, None
    try:
        with open(path, "rb") as f:
            for ln, raw in enumerate(f, start=1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as e:
                    line, col, byte = ln, e.start + 1, raw[e.start:e.start + 1]
                    break
    except OSError:
        pass
    where = f"line {line}, column {col} (byte {byte!r})" if line else f"byte offset {exc.start}"
    return TaskError(f"The file {path} is not valid {enc} text: {where}. Pass encoding='latin-1' "
                     "(or the file's own encoding, e.g. 'cp1252') to read it.")


def _read_delimited(path: Path, *, delimiter: str, quoting: int, header: bool, names,
                    on_bad_lines: str, encoding: str) -> pd.DataFrame:
    """The one loop of the CSV / TSV readers: rows as str, ``_line`` numbers, malformed lines
    reported (error or warning) by number, decoding errors naming the line."""
    enc = _text_encoding(encoding)
    if not header and names is None:
        raise TaskError(f"Reading {path} without a header needs the column `names`. Got none.")
    rows, lines, bad = [], [], []
    cols = None if header else [str(n) for n in names]
    n_total = 0
    try:
        with open(path, encoding=enc, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter, quoting=quoting, strict=False)
            for row in reader:
                ln = reader.line_num
                if not row or (len(row) == 1 and row[0].strip() == ""):
                    continue
                if cols is None:
                    cols = [c.strip() for c in row]
                    if names is not None and [str(n) for n in names] != cols:
                        raise MalformedFileError(f"{path}: line {ln}: expected the header {list(names)}, "
                                                 f"found {cols}.", path=path, lines=[(ln, "header")])
                    continue
                n_total += 1
                if len(row) != len(cols):
                    bad.append((ln, f"{len(row)} fields, expected {len(cols)}"))
                    continue
                rows.append(row)
                lines.append(ln)
    except UnicodeDecodeError as e:
        raise _decode_error(path, enc, e) from None
    except csv.Error as e:
        raise MalformedFileError(f"{path}: line {reader.line_num}: {e}.", path=path,
                                 lines=[(reader.line_num, str(e))]) from None
    if cols is None or (not header and not rows and not bad):
        raise TaskError(f"The file {path} is empty.")
    _report_bad(bad, path, on_bad_lines, n_total)
    df = pd.DataFrame(rows, columns=cols, dtype=object) if rows else pd.DataFrame(columns=cols)
    df["_line"] = lines
    return df


def read_tsv(path, *, header: bool = True, names=None, on_bad_lines: str = "error",
             encoding: str = "utf-8") -> pd.DataFrame:
    """Read a tab-separated file the way GLUE ships it (no quoting, optional UTF-8 BOM).

    Parameters
    ----------
    path : str or Path
        The file.
    header : bool
        Whether the first line holds column names (CoLA's train/dev files have none).
    names : list of str, optional
        Column names when ``header`` is False (or to check the header against).
    on_bad_lines : {"error", "warn"}
        A line whose number of fields differs from the header's raises
        :class:`MalformedFileError` naming its line number; ``"warn"`` skips such lines with a
        warning that lists them.
    encoding : str
        Text encoding (default UTF-8); a line that does not decode is an error naming it.

    Returns
    -------
    pandas.DataFrame
        All columns as ``str``, plus ``_line`` (1-based line number in the file). Blank lines
        are not rows.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.tsv")
    >>> _ = open(p, "w", encoding="utf-8").write('\\ufeffsentence\\tlabel\\nsay "hi\\t1\\n')
    >>> read_tsv(p)[["sentence", "label"]].values.tolist()
    [['say "hi', '1']]
    """
    if on_bad_lines not in ("error", "warn"):
        raise TaskError("The `on_bad_lines` parameter of read_tsv must be 'error' or 'warn'. "
                        f"Got {on_bad_lines!r} instead.")
    path = _require_file(Path(path))
    return _read_delimited(path, delimiter="\t", quoting=csv.QUOTE_NONE, header=header, names=names,
                           on_bad_lines=on_bad_lines, encoding=encoding)


def read_conllu(path, *, encoding: str = "utf-8") -> list[dict]:
    """Read a CoNLL-U file into sentences of words and UPOS tags.

    Multiword-token lines (ids like ``1-2``) and empty nodes (``8.1``) are skipped: the words
    are the lines with an integer id. A sentence's ``sent_id`` comment (or its position) names it.

    Returns
    -------
    list of dict
        ``{"sent_id", "text", "words", "upos", "line"}`` per sentence (``line``: first line).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.conllu")
    >>> rows = ["# sent_id = s1", "1-2\\tdon't\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_",
    ...         "1\\tdo\\tdo\\tAUX\\t_\\t_\\t0\\troot\\t_\\t_",
    ...         "2\\tn't\\tnot\\tPART\\t_\\t_\\t1\\tadvmod\\t_\\t_", ""]
    >>> _ = open(p, "w").write("\\n".join(rows) + "\\n")
    >>> read_conllu(p)[0]["words"], read_conllu(p)[0]["upos"]
    (['do', "n't"], ['AUX', 'PART'])
    """
    path = _require_file(Path(path))
    sents, bad = [], []
    cur = None
    n_lines = 0

    def flush():
        nonlocal cur
        if cur is not None and cur["words"]:
            if not cur["sent_id"]:
                cur["sent_id"] = f"sent-{len(sents):06d}"
            sents.append(cur)
        cur = None

    enc = _text_encoding(encoding)
    try:
        with open(path, encoding=enc, newline="") as fh:
            text = fh.read()
        lines = [ln.rstrip("\r") for ln in text.split("\n")] if text else []
    except UnicodeDecodeError as e:
        raise _decode_error(path, enc, e) from None
    for ln, line in enumerate(lines, start=1):
        n_lines = ln
        if not line.strip():
            flush()
            continue
        if cur is None:
            cur = {"sent_id": "", "text": "", "words": [], "upos": [], "line": ln}
        if line.startswith("#"):
            key, _, val = line[1:].partition("=")
            key = key.strip()
            if key == "sent_id":
                cur["sent_id"] = val.strip()
            elif key == "text":
                cur["text"] = val.strip()
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            bad.append((ln, f"{len(fields)} fields, expected 10"))
            continue
        tid = fields[0]
        if "-" in tid or "." in tid:
            continue
        if not tid.isdigit():
            bad.append((ln, f"token id {tid!r} is not an integer"))
            continue
        cur["words"].append(fields[1])
        cur["upos"].append(fields[3])
    flush()
    if n_lines == 0:
        raise TaskError(f"The file {path} is empty.")
    _report_bad(bad, path, "error", n_lines)
    return sents


_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".jsonl": "jsonl",
            ".json": "jsonl", ".ndjson": "jsonl"}


def task_file(path, data_dir=None) -> Path:
    """Where a task's file is: ``path`` itself when absolute (``~`` expanded), else under
    ``data_dir`` when one is given, else relative to the working directory."""
    p = Path(path).expanduser()
    if not p.is_absolute() and data_dir is not None:
        p = Path(data_dir).expanduser() / p
    return p


def read_table(path, format: str | None = None, on_bad_lines: str = "error", *,
               encoding: str = "utf-8", header: bool | None = True, names=None) -> pd.DataFrame:
    """Read a user's CSV, TSV or JSONL file (format from ``format`` or the file extension).

    The one reader of user files: :func:`~multiberts_stats.tasks.task_from_file` and the
    runner's TOML ``files =`` both read through it. CSV uses standard quoting (``"good, really
    good"`` is one field); TSV is read like GLUE (no quoting) by :func:`read_tsv`; JSONL is one
    JSON object per line. Malformed lines are reported with their line numbers (an error, or with
    ``on_bad_lines="warn"`` a warning that lists them, and they are skipped). A file that is not
    valid text in ``encoding`` is an error naming the line. ``header=None`` (or False) reads a
    file without a header line; ``names`` then gives the columns (CoLA:
    ``names=["source", "label", "original_label", "sentence"]``). The returned frame has a
    ``_line`` column with each row's line number.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "r.csv")
    >>> _ = open(p, "w").write('text,label\\n"good, really good",1\\n"bad",0\\n')
    >>> read_table(p)[["text", "label", "_line"]].values.tolist()
    [['good, really good', '1', 2], ['bad', '0', 3]]
    """
    if on_bad_lines not in ("error", "warn"):
        raise TaskError("The `on_bad_lines` parameter of read_table must be 'error' or 'warn'. "
                        f"Got {on_bad_lines!r} instead.")
    if header not in (True, False, None, 0):
        raise TaskError("The `header` parameter of read_table must be True (the first line names the "
                        f"columns) or None (no header line; give `names`). Got {header!r} instead.")
    has_header = header is True or header == 0
    if names is not None and (isinstance(names, str) or not all(isinstance(n, str) for n in names)):
        raise TaskError(f"The `names` parameter of read_table must be a list of column names. Got "
                        f"{names!r} instead.")
    path = Path(path)
    fmt = format or _FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "tsv", "jsonl"):
        raise TaskError(f"The `format` parameter must be 'csv', 'tsv' or 'jsonl' (or the file must "
                        f"end in .csv, .tsv or .jsonl). Got format={format!r} for {path}.")
    path = _require_file(path)
    if fmt in ("tsv", "csv"):
        return _read_delimited(path, delimiter="\t" if fmt == "tsv" else ",",
                               quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL,
                               header=has_header, names=names, on_bad_lines=on_bad_lines,
                               encoding=encoding)
    enc = _text_encoding(encoding)
    records, lines, bad = [], [], []
    n_total = 0
    try:
        with open(path, encoding=enc) as f:
            for ln, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                n_total += 1
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    bad.append((ln, f"invalid JSON ({e.msg})"))
                    continue
                if not isinstance(obj, dict):
                    bad.append((ln, f"a JSON {type(obj).__name__}, expected an object"))
                    continue
                records.append(obj)
                lines.append(ln)
    except UnicodeDecodeError as e:
        raise _decode_error(path, enc, e) from None
    if n_total == 0:
        raise TaskError(f"The file {path} is empty.")
    _report_bad(bad, path, on_bad_lines, n_total)
    df = pd.DataFrame.from_records(records)
    df["_line"] = lines
    return df
