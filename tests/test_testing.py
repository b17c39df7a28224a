"""multiberts_stats.testing: tiny families and the mini pretraining family, on real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from multiberts_stats.checkpoints import (  # noqa: E402
    CheckpointError,
    load_encoder,
    load_masked_lm,
    multiberts,
    resolve_checkpoint,
)
from multiberts_stats.testing import (  # noqa: E402
    build_vocab,
    make_tiny_family,
    masked_token_accuracy,
    pretrain_mini_family,
    pretraining_log,
)


def _sst2(shared_data, split, n=None):
    lines = (shared_data / "glue" / "SST-2" / f"{split}.tsv").read_text().splitlines()[1:]
    out = [line.split("\t")[0].strip() for line in lines if line.strip()]
    return out if n is None else out[:n]


# --------------------------------------------------------------------------- tiny families
def test_tiny_family_fixture_layout(tiny_family, vocab_file):
    assert len(tiny_family) == 6 and tiny_family.name == "tiny"
    assert tiny_family.seeds == (0, 1, 2) and tiny_family.steps == (0, 2000)
    c = tiny_family.get(2, 2000)
    assert c.path.endswith(os.path.join("tiny", "multiberts-seed_2-step_2000k"))
    assert c.step_raw == 2_000_000 and c.hub_id is None
    files = set(os.listdir(c.path))
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
            "tokenizer_config.json"} <= files
    assert Path(c.path, "vocab.txt").read_bytes() == Path(vocab_file).read_bytes()
    cfg = json.loads(Path(c.path, "config.json").read_text())
    assert cfg["architectures"] == ["BertForPreTraining"] and cfg["vocab_size"] == 30522
    assert json.loads(Path(c.path, "tokenizer_config.json").read_text())["model_max_length"] == 128


def test_tiny_family_as_a_multiberts_mirror(tmp_path, vocab_file, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    make_tiny_family(tmp_path, vocab_file, seeds=[3], steps=[0, 200], org="google",
                     name="multiberts")
    sel = multiberts().select(seeds=3, steps=[0, 200])
    for ckpt in sel:
        folder = resolve_checkpoint(ckpt, checkpoint_root=tmp_path)
        assert folder.name == ckpt.hub_id.split("/")[1]
    model, _ = load_masked_lm(sel[1], checkpoint_root=tmp_path)
    assert model.load_report.source == "mirror"


def test_tiny_family_reuses_and_leaves_global_rng(tmp_path, vocab_file):
    state = torch.random.get_rng_state()
    fam = make_tiny_family(tmp_path, vocab_file, seeds=[5], steps=[0])
    assert torch.equal(torch.random.get_rng_state(), state)
    weights = Path(fam[0].path, "model.safetensors")
    mtime = weights.stat().st_mtime_ns
    again = make_tiny_family(tmp_path, vocab_file, seeds=[5], steps=[0])
    assert again == fam and weights.stat().st_mtime_ns == mtime
    make_tiny_family(tmp_path, vocab_file, seeds=[5], steps=[0], overwrite=True)
    assert weights.stat().st_mtime_ns != mtime
    # no temporary folders left behind
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == ["multiberts-seed_5-step_0k"]


@pytest.mark.parametrize("kwargs, match", [
    ({"seeds": []}, "`seeds` parameter of make_tiny_family"),
    ({"steps": [0, 0]}, "`steps` parameter of make_tiny_family"),
    ({"hidden_size": 30, "num_heads": 4}, "multiple of `num_heads`"),
    ({"num_layers": 0}, "`num_layers` parameter"),
])
def test_make_tiny_family_bad_input(tmp_path, vocab_file, kwargs, match):
    with pytest.raises(CheckpointError, match=match):
        make_tiny_family(tmp_path, vocab_file, **kwargs)
    with pytest.raises(CheckpointError, match="`vocab_file` parameter"):
        make_tiny_family(tmp_path, tmp_path / "nope.txt")


# --------------------------------------------------------------------------- vocabulary
def test_build_vocab_keeps_tokenisation_of_kept_words(shared_data, vocab_file):
    from transformers import BertTokenizer

    sents = _sst2(shared_data, "train", 2000)
    vocab = build_vocab(sents, vocab_file, 1024)
    assert len(vocab) == 1024 and vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab == build_vocab(sents, vocab_file, 1024)  # deterministic
    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    small, full = BertTokenizer(str(path)), BertTokenizer(str(vocab_file))
    text = "the film is good , but the plot is thin ."
    assert small.tokenize(text) == full.tokenize(text)
    unk = np.mean([t == "[UNK]" for s in sents[:300] for t in small.tokenize(s)])
    assert unk < 0.01  # rare words fall back to characters, not [UNK]


# --------------------------------------------------------------------------- mini pretraining
@pytest.fixture(scope="module")
def mini(tmp_path_factory, shared_data, vocab_file):
    root = tmp_path_factory.mktemp("mini")
    train = _sst2(shared_data, "train", 6000)
    dev = _sst2(shared_data, "dev", 300)
    kwargs = dict(seeds=[0, 1], steps=[0, 40, 150], vocab_size=1024, hidden_size=64,
                  num_heads=2, intermediate_size=128, batch_size=32, learning_rate=3e-3,
                  eval_sentences=dev, quiet=True)
    fam = pretrain_mini_family(root, train, vocab_file, **kwargs)
    return fam, root, train, dev, kwargs


def test_mini_family_layout_and_labels(mini):
    fam, root, *_ = mini
    assert fam.name == "mini" and fam.step_unit == "steps"
    assert [(c.seed, c.step, c.step_raw) for c in fam] == [
        (0, 0, 0), (0, 40, 40), (0, 150, 150), (1, 0, 0), (1, 40, 40), (1, 150, 150)]
    folder = Path(fam.get(1, 150).path)
    assert folder == (root / "mini" / "mini-bert-seed_1-step_150").resolve()
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
            "mini_pretraining.json"} <= set(os.listdir(folder))
    assert len(Path(folder, "vocab.txt").read_text().splitlines()) == 1024


def test_mini_family_learns_and_seeds_differ(mini):
    fam, *_ = mini
    log = pretraining_log(fam)
    acc = log.pivot(index="step", columns="seed", values="heldout_masked_accuracy")
    for seed in (0, 1):
        assert acc.loc[0, seed] < 0.02                  # random init
        assert acc.loc[150, seed] > acc.loc[0, seed] + 0.03
    loss = log.pivot(index="step", columns="seed", values="train_loss")
    assert (loss.loc[150] < loss.loc[40]).all()
    assert log["n_params"].nunique() == 1
    a, _ = load_encoder(fam.get(0, 150))
    b, _ = load_encoder(fam.get(1, 150))
    assert not torch.equal(a.embeddings.word_embeddings.weight, b.embeddings.word_embeddings.weight)


def test_mini_family_round_trips_through_the_loader(mini):
    fam, _, _, dev, _ = mini
    ckpt = fam.get(0, 150)
    model, tok = load_masked_lm(ckpt)
    assert model.load_report.newly_initialized == [] and len(tok) == 1024
    recorded = json.loads(Path(ckpt.path, "mini_pretraining.json").read_text())
    assert masked_token_accuracy(model, tok, dev, seed=0, max_length=32) == pytest.approx(
        recorded["heldout_masked_accuracy"])


def test_mini_family_resumes_without_retraining(mini, vocab_file):
    fam, root, train, _, kwargs = mini
    weights = Path(fam.get(1, 150).path, "model.safetensors")
    mtime = weights.stat().st_mtime_ns
    again = pretrain_mini_family(root, train, vocab_file, **kwargs)
    assert again == fam and weights.stat().st_mtime_ns == mtime


def test_mini_family_is_deterministic_per_seed(tmp_path, shared_data, vocab_file):
    """A seed's checkpoints do not depend on the other seeds trained before it, nor on the
    caller's global RNG state, and the global torch RNG is left as it was."""
    from safetensors.torch import load_file

    train = _sst2(shared_data, "train", 500)
    kwargs = dict(steps=[0, 15], vocab_size=256, hidden_size=32, num_heads=2,
                  intermediate_size=64, batch_size=16, quiet=True)
    both = pretrain_mini_family(tmp_path / "a", train, vocab_file, seeds=[0, 1], **kwargs)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    alone = pretrain_mini_family(tmp_path / "b", train, vocab_file, seeds=[1], **kwargs)
    assert torch.equal(torch.random.get_rng_state(), state)
    for step in (0, 15):
        a = load_file(str(Path(both.get(1, step).path, "model.safetensors")))
        b = load_file(str(Path(alone.get(1, step).path, "model.safetensors")))
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    a = load_file(str(Path(both.get(0, 15).path, "model.safetensors")))
    assert not all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kwargs, match", [
    ({"sentences": "one string"}, "`sentences` parameter"),
    ({"sentences": ["only one"]}, "at least 2"),
    ({"steps": [-1, 5]}, "`steps` parameter"),
    ({"mask_prob": 1.5}, "`mask_prob` parameter"),
    ({"vocab_size": 3}, "`vocab_size` parameter"),
])
def test_pretrain_mini_family_bad_input(tmp_path, vocab_file, kwargs, match):
    args = {"sentences": ["a b c", "d e f"], **kwargs}
    with pytest.raises(CheckpointError, match=match):
        pretrain_mini_family(tmp_path, args.pop("sentences"), vocab_file, quiet=True, **args)


def test_masked_token_accuracy_needs_sentences(tiny_family):
    model, tok = load_masked_lm(tiny_family[0])
    with pytest.raises(CheckpointError, match="`sentences` parameter"):
        masked_token_accuracy(model, tok, [])
    acc = masked_token_accuracy(model, tok, ["a fine film .", "dull and long ."], seed=3)
    assert acc == masked_token_accuracy(model, tok, ["a fine film .", "dull and long ."], seed=3)
