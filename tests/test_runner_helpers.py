"""Helpers of the runner tests: tiny real checkpoints in the hub layout and SST-2 file tasks.

(No tests here; the module is imported by the other test_runner*.py files.)
"""

from __future__ import annotations

from pathlib import Path

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=128)


def make_tiny_checkpoints(root: Path, vocab_file: Path, seeds=(0, 1), steps=(0,), **config) -> list[Path]:
    """Tiny ``BertForPreTraining`` checkpoints with the real vocabulary, one folder per seed/step."""
    import torch
    from transformers import BertConfig, BertForPreTraining, BertTokenizer

    out = []
    for seed in seeds:
        for step in steps:
            d = Path(root) / f"seed_{seed}-step_{step}k"
            if not (d / "config.json").exists():
                torch.manual_seed(1000 * seed + step)
                model = BertForPreTraining(BertConfig(vocab_size=30522, **{**TINY, **config}))
                model.save_pretrained(d)
                BertTokenizer(str(vocab_file), model_max_length=128).save_pretrained(d)
            out.append(d)
    return out


def shared_family(tmp_path_factory, vocab_file, seeds=(0, 1)) -> Path:
    """A tiny family (``make_tiny_family``: 2 layers, hidden 32, real vocabulary, step 0) built
    once per test session and shared by the runner test modules; returns its root folder."""
    from multiberts_stats.testing import make_tiny_family

    root = tmp_path_factory.getbasetemp() / "runner-tiny-family"
    make_tiny_family(root, vocab_file, seeds=seeds, steps=(0,))
    return root


def checkpoint_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in Path(root).rglob("config.json"))


def toml_text(store, family_root, shared_data, *, seeds="0-2", extra: str = "") -> str:
    g = Path(shared_data) / "glue" / "SST-2"
    return f"""
name = "grid"
store = "{store}"
finetune_seeds = "{seeds}"
checkpoints = {{ family = "tiny", root = "{family_root}" }}
tasks = [{{ name = "sst2", files = {{ train = "{g / 'train.tsv'}", validation = "{g / 'dev.tsv'}" }} }}]
[methods.probe]
max_train = 100
max_eval = 40
C = [1.0]
folds = 2
{extra}
"""


def sst2_task(shared_data: Path, name: str = "sst2") -> dict:
    """SST-2 as a file task (train.tsv for training, dev.tsv as the validation split)."""
    g = Path(shared_data) / "glue" / "SST-2"
    return {"name": name, "files": {"train": str(g / "train.tsv"), "validation": str(g / "dev.tsv")},
            "text": ["sentence"], "label": "label"}


def tiny_experiment(store, family_root, shared_data, **methods) -> dict:
    return {"name": "tiny", "store": str(store), "checkpoints": {"family": "tiny", "root": str(family_root)},
            "tasks": [sst2_task(shared_data)],
            "methods": methods or {"probe": {"max_train": 200, "max_eval": 60, "C": [0.1, 1.0]}}}
