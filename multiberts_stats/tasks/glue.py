"""The nine GLUE tasks, from local files in the original GLUE TSV format or from the hub.

Local layout (as GLUE's download script writes it): ``<root>/glue/<TaskDir>/{train,dev}.tsv``
(MNLI: ``dev_matched.tsv`` / ``dev_mismatched.tsv``), where ``<root>`` is ``data_dir`` or
``$MULTIBERTS_STATS_DATA``; ``data_dir`` may also be the ``glue/`` folder or the task's folder.
Otherwise the hub dataset ``nyu-mll/glue`` (needs the ``datasets`` package and a network).

``example_id`` is ``"<task>-<split>-<row:06d>"``, the row's position in the split — the same
number as the hub's ``idx`` column, so ids agree whichever source was used. The files' own ids
are kept in extra columns (e.g. MRPC ``id1``/``id2``, QQP ``id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .base import (
    DataNotFoundError,
    Task,
    TaskError,
    data_roots,
    first_existing,
    hub_allowed,
)
from .readers import read_tsv

__all__ = ["GlueTask", "GLUE_TASKS", "HUB_DATASET"]

HUB_DATASET = "nyu-mll/glue"


@dataclass
class GlueTask(Task):
    """A GLUE task: file layout, column mapping and hub config.

    ``columns`` maps the output column (hub naming: ``sentence``, ``sentence1``, ``premise``, ...)
    to the column of the original TSV; ``label_column`` is the TSV's label column; ``names`` gives
    the column names of a header-less file (CoLA). ``on_bad_lines="warn"`` skips malformed lines
    with a warning that lists their line numbers (default: an error), e.g.
    ``get_task("qqp", on_bad_lines="warn")``.
    """

    folder: str = ""
    hub_config: str = ""
    columns: dict = field(default_factory=dict)
    label_column: str = "label"
    id_columns: dict = field(default_factory=dict)
    header: bool = True
    names: tuple = ()
    files: dict = field(default_factory=dict)
    on_bad_lines: str = "error"

    def _files(self, split):
        return self.files.get(split, {"train": "train.tsv", "validation": "dev.tsv"}.get(split))

    def _local_candidates(self, split):
        fname = self._files(split)
        return [f"glue/{self.folder}/{fname}", f"{self.folder}/{fname}", fname]

    def data_source(self, data_dir=None) -> str:
        roots = data_roots(data_dir if data_dir is not None else self.data_dir)
        path, _ = first_existing(roots, self._local_candidates(self.default_split))
        if path is not None:
            return str(path.parent)
        hub = f"hub {HUB_DATASET}/{self.hub_config}"
        return hub if hub_allowed() else f"{hub} (offline: set {'$MULTIBERTS_STATS_DATA'} or data_dir)"

    def _load(self, split, data_dir):
        roots = data_roots(data_dir)
        path, looked = first_existing(roots, self._local_candidates(split))
        if path is not None:
            return self._load_tsv(path, split)
        return self._load_hub(split, looked)

    def _load_tsv(self, path, split):
        raw = read_tsv(path, header=self.header, names=list(self.names) if not self.header else None,
                       on_bad_lines=self.on_bad_lines)
        needed = list(self.columns.values()) + [self.label_column] + list(self.id_columns.values())
        missing = [c for c in needed if c not in raw.columns]
        if missing:
            raise TaskError(f"Task {self.name!r}: the file {path} lacks the column(s) {missing}; the "
                            f"columns found are {[c for c in raw.columns if c != '_line']}.")
        out = pd.DataFrame({"example_id": [f"{self.name}-{split}-{i:06d}" for i in range(len(raw))]})
        for dst, src in self.columns.items():
            out[dst] = raw[src].values
        out["label"] = raw[self.label_column].values
        for dst, src in self.id_columns.items():
            out[dst] = raw[src].values
        out["idx"] = range(len(raw))
        out["_line"] = raw["_line"].values
        out.attrs["source"] = str(path)
        return out

    def _load_hub(self, split, looked):
        where = ("; ".join(str(p) for p in looked) if looked
                 else "no local folder (pass data_dir= or set $MULTIBERTS_STATS_DATA)")
        if not hub_allowed():
            raise DataNotFoundError(
                f"No data for task {self.name!r}, split {split!r}: looked for local files at {where}, "
                f"and the hub ({HUB_DATASET}, config {self.hub_config!r}) is switched off "
                "(HF_HUB_OFFLINE / HF_DATASETS_OFFLINE). Point data_dir or $MULTIBERTS_STATS_DATA "
                f"at a folder holding glue/{self.folder}/{self._files(split)}.")
        try:
            import datasets  # noqa: F401  (lazy: heavy)
            from datasets import load_dataset

            ds = load_dataset(HUB_DATASET, self.hub_config, split=split)
        except Exception as e:  # noqa: BLE001 - re-raised with context
            raise DataNotFoundError(
                f"No data for task {self.name!r}, split {split!r}: looked for local files at {where}, "
                f"and loading {HUB_DATASET} config {self.hub_config!r} from the hub failed: "
                f"{type(e).__name__}: {e}") from e
        hub = ds.to_pandas()
        out = pd.DataFrame({"example_id": [f"{self.name}-{split}-{int(i):06d}" for i in hub["idx"]]})
        for dst in self.columns:
            out[dst] = hub[dst].values
        out["label"] = hub["label"].values
        out["idx"] = hub["idx"].values
        out.attrs["source"] = f"hub {HUB_DATASET}/{self.hub_config} ({split})"
        return out


def _glue(name, folder, hub, kind, columns, label_space, metrics, label_column="label", **kw):
    return GlueTask(name=name, kind=kind, text_fields=tuple(columns), label_space=label_space,
                    metrics=metrics, splits=kw.pop("splits", ("train", "validation")),
                    folder=folder, hub_config=hub, columns=columns, label_column=label_column,
                    **kw)


GLUE_TASKS = [
    _glue("cola", "CoLA", "cola", "classification", {"sentence": "sentence"},
          ["unacceptable", "acceptable"], ("mcc",), header=False,
          names=("source", "label", "original_label", "sentence"), id_columns={"source": "source"},
          aliases=("glue_cola",), description="Corpus of Linguistic Acceptability (Matthews corr.)"),
    _glue("sst2", "SST-2", "sst2", "classification", {"sentence": "sentence"},
          ["negative", "positive"], ("accuracy",), aliases=("sst-2", "glue_sst2"),
          description="Stanford Sentiment Treebank, binary"),
    _glue("mrpc", "MRPC", "mrpc", "pair_classification",
          {"sentence1": "#1 String", "sentence2": "#2 String"}, ["not_equivalent", "equivalent"],
          ("accuracy", "f1"), label_column="Quality", id_columns={"id1": "#1 ID", "id2": "#2 ID"},
          aliases=("glue_mrpc",), description="Microsoft Research Paraphrase Corpus"),
    _glue("qqp", "QQP", "qqp", "pair_classification",
          {"question1": "question1", "question2": "question2"}, ["not_duplicate", "duplicate"],
          ("accuracy", "f1"), label_column="is_duplicate", id_columns={"id": "id"},
          aliases=("glue_qqp",), description="Quora Question Pairs"),
    _glue("stsb", "STS-B", "stsb", "regression", {"sentence1": "sentence1", "sentence2": "sentence2"},
          None, ("pearson", "spearman"), label_column="score", aliases=("sts-b", "glue_stsb"),
          description="Semantic Textual Similarity Benchmark (0-5)"),
    _glue("mnli", "MNLI", "mnli", "pair_classification",
          {"premise": "sentence1", "hypothesis": "sentence2"},
          ["entailment", "neutral", "contradiction"], ("accuracy",), label_column="gold_label",
          id_columns={"pairID": "pairID", "genre": "genre"},
          splits=("train", "validation_matched", "validation_mismatched"),
          default_split="validation_matched", split_aliases={"validation": "validation_matched"},
          files={"train": "train.tsv", "validation_matched": "dev_matched.tsv",
                 "validation_mismatched": "dev_mismatched.tsv"},
          aliases=("glue_mnli",), description="Multi-Genre NLI (matched / mismatched)"),
    _glue("qnli", "QNLI", "qnli", "pair_classification", {"question": "question", "sentence": "sentence"},
          ["entailment", "not_entailment"], ("accuracy",), aliases=("glue_qnli",),
          description="Question NLI (from SQuAD)"),
    _glue("rte", "RTE", "rte", "pair_classification", {"sentence1": "sentence1", "sentence2": "sentence2"},
          ["entailment", "not_entailment"], ("accuracy",), aliases=("glue_rte",),
          description="Recognizing Textual Entailment"),
    _glue("wnli", "WNLI", "wnli", "pair_classification", {"sentence1": "sentence1", "sentence2": "sentence2"},
          ["not_entailment", "entailment"], ("accuracy",), aliases=("glue_wnli",),
          description="Winograd NLI"),
]
