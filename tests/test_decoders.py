"""Decoder families (PolyPythias) beside the MultiBERTs: the catalog, resolution per revision,
loading with each head, every method through the runner, and BLiMP through TOML into the store
and the bootstrap, on tiny GPT-NeoX families built per revision in the mirror layout."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from multiberts_stats.checkpoints import (
    CheckpointLoadError,
    CheckpointNotFoundError,
    CheckpointSelectionError,
    catalog_family,
    load_causal_lm,
    load_classifier,
    load_encoder,
    load_masked_lm,
    polypythia,
    resolve_checkpoint,
)
from multiberts_stats.checkpoints.polypythia import (
    POLYPYTHIA_REVISIONS,
    POLYPYTHIA_STEPS,
    polypythia_revision,
)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def corpus(shared_data):
    from multiberts_stats.testing import decoder_corpus

    return decoder_corpus(shared_data, n_sst2=1000)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, corpus):
    """A PolyPythia-14m mirror: seeds 0-2 at step0 and step16 (tiny GPT-NeoX, trained 16 steps)."""
    from multiberts_stats.testing import make_tiny_decoder_family

    root = tmp_path_factory.mktemp("polypythia_mirror")
    fam = make_tiny_decoder_family(root, corpus, seeds=[0, 1, 2], revisions=["step0", "step16"])
    return root, fam


@pytest.fixture(scope="module")
def bert_family(tmp_path_factory, vocab_file):
    from multiberts_stats.testing import make_tiny_family

    return make_tiny_family(tmp_path_factory.mktemp("tiny_bert"), vocab_file, seeds=[0, 1],
                            steps=[0])


# --------------------------------------------------------------------------- catalog
def test_polypythia_catalog_from_the_model_cards():
    assert len(POLYPYTHIA_STEPS) == 154 and POLYPYTHIA_REVISIONS[:4] == (
        "step0", "step1", "step2", "step4")
    assert POLYPYTHIA_REVISIONS[10:13] == ("step512", "step1000", "step2000")
    assert POLYPYTHIA_REVISIONS[-1] == "step143000"
    for size in ("14m", "31m", "70m", "160m", "410m"):
        fam = polypythia(size)
        assert len(fam) == 10 * 154 and fam.seeds == tuple(range(10))
        assert fam.get(0, 0).hub_id == f"EleutherAI/pythia-{size}"
        assert fam.get(9, 143000).hub_id == f"EleutherAI/pythia-{size}-seed9"
        assert fam.get(9, 143000).revision == "step143000"
    data, weight = polypythia("160m", "data-seed"), polypythia("160m", "weight-seed")
    assert [c.hub_id for c in data.select(steps=512)] == [
        "EleutherAI/pythia-160m"] + [f"EleutherAI/pythia-160m-data-seed{i}" for i in (1, 2, 3)]
    assert weight.get(2, 1000).hub_id == "EleutherAI/pythia-160m-weight-seed2"
    assert catalog_family("polypythia-160m-weight-seed") == weight
    assert len(polypythia("70m").select(seeds="0-4", steps="0,1000,143000")) == 15
    assert polypythia("70m").select(seeds=2, steps="1-512").steps == (1, 2, 4, 8, 16, 32, 64, 128,
                                                                   256, 512)
    frame = polypythia("14m").select(seeds=1, steps=2000).to_frame()
    assert frame[["hub_id", "revision", "seed", "step"]].values.tolist() == [
        ["EleutherAI/pythia-14m-seed1", "step2000", 1, 2000]]


def test_catalog_bad_input():
    with pytest.raises(CheckpointSelectionError, match=r"step 1500 that was never released "
                                                       r"\(nearest released: 1000 and 2000\)"):
        polypythia("70m").select(seeds=1, steps=1500)
    with pytest.raises(CheckpointSelectionError, match=r"never released step 1500 .* step1000 and "
                                                       r"step2000"):
        polypythia_revision("step1500")
    with pytest.raises(CheckpointSelectionError, match="exists for size 160m only"):
        polypythia("70m", variant="data-seed")
    with pytest.raises(CheckpointSelectionError, match=r"sizes \['14m'.*Got '1b'"):
        polypythia("1b")
    with pytest.raises(CheckpointSelectionError, match="missing seed"):
        polypythia("160m", "weight-seed").select(seeds=5)
    with pytest.raises(CheckpointSelectionError, match="must name a built-in family.*Got .pythia."):
        catalog_family("pythia")


# --------------------------------------------------------------------------- resolution
def test_mirror_layout_one_folder_per_id_and_revision(mirror):
    root, fam = mirror
    assert [(c.seed, c.step, c.revision) for c in fam] == [
        (s, k, f"step{k}") for s in (0, 1, 2) for k in (0, 16)]
    for c in fam:
        folder = resolve_checkpoint(c, checkpoint_root=root)
        assert folder == root / f"{c.hub_id}@{c.revision}"
        rec = json.loads((folder / "tiny_decoder.json").read_text())
        assert (rec["seed"], rec["revision"]) == (c.seed, c.revision)
    # a plain <id> folder holds some other revision: a step revision never falls back to it
    plain = root / "EleutherAI" / "pythia-14m-seed2"
    shutil.copytree(root / "EleutherAI" / "pythia-14m-seed2@step16", plain)
    try:
        missing = polypythia("14m").get(2, 1000)
        with pytest.raises(CheckpointNotFoundError) as err:
            resolve_checkpoint(missing, checkpoint_root=root, local_files_only=True)
        msg = str(err.value)
        assert "EleutherAI/pythia-14m-seed2 at revision 'step1000'" in msg
        assert "pythia-14m-seed2@step1000 (absent)" in msg and "present but not used" in msg
    finally:
        shutil.rmtree(plain)


def test_resolution_from_the_hf_cache_by_revision(mirror, tmp_path, monkeypatch):
    root, fam = mirror
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    repo = cache / "models--EleutherAI--pythia-14m-seed1"
    for rev, commit in (("step0", "a" * 40), ("step16", "b" * 40)):
        snap = repo / "snapshots" / commit
        shutil.copytree(root / "EleutherAI" / f"pythia-14m-seed1@{rev}", snap)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / rev).write_text(commit)
    c = fam.get(1, 16)
    folder = resolve_checkpoint(c, checkpoint_root=tmp_path / "empty", local_files_only=True)
    assert folder.name == "b" * 40
    model, _ = load_causal_lm(c, checkpoint_root=tmp_path / "empty", local_files_only=True)
    assert model.load_report.source == "cache" and model.load_report.commit == "b" * 40


# --------------------------------------------------------------------------- loading
def test_decoders_load_with_each_head(mirror):
    root, fam = mirror
    c = fam.get(1, 16)
    lm, tok = load_causal_lm(c, checkpoint_root=root)
    assert type(lm).__name__ == "GPTNeoXForCausalLM" and lm.load_report.newly_initialized == []
    enc, _ = load_encoder(c, checkpoint_root=root)
    out = enc(**tok(["The cat sleeps."], return_tensors="pt"))
    assert type(enc).__name__ == "GPTNeoXModel" and len(out.hidden_states) == 3
    assert tok.pad_token is None
    clf, ctok = load_classifier(c, num_labels=2, seed=3, checkpoint_root=root)
    assert clf.load_report.newly_initialized == ["score.weight"]
    assert ctok.pad_token == "<|endoftext|>" and clf.config.pad_token_id == ctok.pad_token_id
    batch = ctok(["A film.", "A much longer film than that."], padding=True, return_tensors="pt")
    assert clf(**batch).logits.shape == (2, 2)


def test_wrong_heads_are_refused(mirror, bert_family):
    root, fam = mirror
    with pytest.raises(CheckpointLoadError) as err:
        load_masked_lm(fam.get(0, 16), checkpoint_root=root)
    msg = str(err.value)
    assert "EleutherAI/pythia-14m@step16" in msg and "decoder" in msg
    assert "GPTNeoXForCausalLM" in msg and "load_causal_lm" in msg
    with pytest.raises(CheckpointLoadError, match=r"cannot be loaded as causal_lm.*encoder.*"
                                                  r"BertForPreTraining.*load_masked_lm"):
        load_causal_lm(bert_family[0])


def test_a_tokenizer_without_pad_or_eos_is_refused_for_fine_tuning(mirror):
    from multiberts_stats.checkpoints.decoders import ensure_pad_token

    root, fam = mirror
    _, tok = load_causal_lm(fam.get(0, 0), checkpoint_root=root)
    tok.eos_token = None
    with pytest.raises(CheckpointLoadError, match="no pad token.*no end-of-text token"):
        ensure_pad_token(tok, name="checkpoint EleutherAI/pythia-14m@step0")


def test_word_alignment_from_byte_level_offsets(mirror):
    from multiberts_stats.tasks import align_words_to_subtokens

    root, fam = mirror
    _, tok = load_causal_lm(fam.get(0, 0), checkpoint_root=root)
    words = ["The", "antidisestablishment", "cats", "sleep", "."]
    ids, pos = align_words_to_subtokens(words, tok, "mean")
    assert ids == tok("The antidisestablishment cats sleep .")["input_ids"]  # running text
    pieces = tok.convert_ids_to_tokens(ids)
    assert all(len(p) >= 1 for p in pos)
    assert [pieces[p[0]].lstrip("Ġ")[:1] for p in pos] == ["T", "a", "c", "s", "."]
    assert sorted(i for p in pos for i in p) == [i for i, t in enumerate(pieces) if t != "Ġ"]


# --------------------------------------------------------------------------- the runner
def _toml(path: Path, store: Path, checkpoints: str, tasks: str, methods: str,
          root: Path | None = None) -> Path:
    root_line = f'checkpoint_root = "{root}"\n' if root is not None else ""
    path.write_text(f'name = "decoders"\nstore = "{store}"\n{root_line}checkpoints = {checkpoints}\n'
                    f"tasks = {tasks}\n{methods}\n", encoding="utf-8")
    return path


def test_blimp_through_toml_on_tiny_bert_and_tiny_gpt_neox(tmp_path, mirror, bert_family,
                                                           shared_data):
    from multiberts_stats import read_predictions
    from multiberts_stats.bootstrap import multiboot
    from multiberts_stats.runner import load_experiment, run_experiment

    root, _ = mirror
    blimp = (f'[{{ name = "blimp_anaphor_number_agreement", data_dir = "{shared_data}" }}, '
             f'{{ name = "blimp", data_dir = "{shared_data}" }}]')
    methods = "[methods.zeroshot]\nbatch_size = 16\nmax_eval = 60\n"
    dec = _toml(tmp_path / "dec.toml", tmp_path / "store",
                '{ family = "polypythia-14m", seeds = "0-2", steps = "0,16" }', blimp, methods, root)
    s = run_experiment(load_experiment(dec), quiet=True)
    assert (s.total, s.done, s.failed) == (12, 12, 0), s.errors
    bert_root = Path(bert_family[0].path).parent
    enc = _toml(tmp_path / "enc.toml", tmp_path / "store",
                f'{{ family = "tiny", root = "{bert_root}" }}', blimp, methods)
    s = run_experiment(load_experiment(enc), quiet=True)
    assert (s.total, s.done, s.failed) == (4, 4, 0), s.errors

    df = read_predictions(tmp_path / "store")
    dec_rows = df[df.family == "polypythia-14m"]
    assert set(dec_rows.revision) == {"step0", "step16"} and set(dec_rows.step) == {0, 16}
    assert set(df[df.family == "tiny"].revision) == {""}
    assert set(df.method) == {"zeroshot"} and df.label.eq(1).all()
    assert set(df.prediction) <= {0.0, 1.0}
    pooled = dec_rows[dec_rows.task == "blimp"]
    assert pooled.cluster.nunique() == 6                       # paradigms are the clusters
    assert {"UID", "field", "linguistics_term"} <= set(df.columns)
    # the Multi-Bootstrap over seeds and paradigms, step 16 of the decoder family
    side = pooled[pooled.step == 16]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multiboot(side, metric="accuracy", nboot=200, rng=0, cluster_col="cluster")
    est, (lo, hi) = res.estimate["base"], res.ci["base"]
    assert res.n_seeds == {"base": 3} and lo <= est <= hi
    assert est == pytest.approx((side.prediction == side.label).mean())


def test_winogender_refuses_a_decoder(tmp_path, mirror, shared_data):
    from multiberts_stats.runner import load_experiment, run_experiment

    root, _ = mirror
    exp = _toml(tmp_path / "w.toml", tmp_path / "store",
                '{ family = "polypythia-14m", seeds = 0, steps = 0 }',
                f'[{{ name = "winogender", data_dir = "{shared_data}" }}]',
                "[methods.zeroshot]\nmax_eval = 10\n", root)
    s = run_experiment(load_experiment(exp), quiet=True)
    assert s.failed == 1
    (err,) = s.errors.values()
    assert "winogender" in err and "decoder" in err and "pseudo-log-likelihood" in err


def test_probe_and_finetune_a_decoder_family(tmp_path, mirror, shared_data):
    from multiberts_stats import read_predictions
    from multiberts_stats.runner import load_experiment, run_experiment

    root, _ = mirror
    g = Path(shared_data) / "glue" / "SST-2"
    sst2 = (f'[{{ name = "sst2", files = {{ train = "{g / "train.tsv"}", validation = '
            f'"{g / "dev.tsv"}" }} }}]')
    methods = ("[methods.probe]\npooling = \"last\"\nmax_train = 120\nmax_eval = 40\nC = [1.0]\n"
               "folds = 2\n[methods.finetune]\nmax_train = 64\nmax_eval = 40\nepochs = 1\n"
               "batch_size = 16\nlearning_rate = 1e-3\nseeds = [0]\n")
    exp = _toml(tmp_path / "p.toml", tmp_path / "store",
                '{ family = "polypythia-14m", seeds = "0-1", steps = 16 }', sst2, methods, root)
    s = run_experiment(load_experiment(exp), quiet=True)
    assert s.failed == 0, s.errors
    df = read_predictions(tmp_path / "store")
    probe, ft = df[df.method == "probe"], df[df.method == "finetune"]
    assert sorted(probe.layer.unique().tolist()) == [0, 1, 2] and len(probe) == 2 * 3 * 40
    assert set(probe.revision) == {"step16"} and probe.score.between(0, 1).all()
    assert len(ft) == 2 * 40 and ft.layer.isna().all() and set(ft.prediction) <= {0.0, 1.0}


def test_cls_pooling_is_refused_for_a_decoder(mirror):
    from multiberts_stats.runner.features import extract_features

    root, fam = mirror
    enc, tok = load_encoder(fam.get(0, 16), checkpoint_root=root)
    with pytest.raises(ValueError, match="'cls'.*decoder.*'mean' or 'last'"):
        extract_features(enc, tok, ["A film."], pooling="cls")
    last = extract_features(enc, tok, ["A film.", "A much longer film."], pooling="last")
    alone = extract_features(enc, tok, ["A much longer film."], pooling="last")
    np.testing.assert_allclose(last[:, 1], alone[:, 0], atol=1e-5)  # padding never leaks in


# --------------------------------------------------------------------------- randomness
def test_which_randomness_matters_on_tiny_decoupled_families(tmp_path, corpus, shared_data):
    from multiberts_stats import read_predictions
    from multiberts_stats.analysis.randomness import compare_randomness
    from multiberts_stats.runner import load_experiment, run_experiment
    from multiberts_stats.testing import make_tiny_decoder_family

    root = tmp_path / "mirror"
    for variant in ("data-seed", "weight-seed"):
        make_tiny_decoder_family(root, corpus, seeds=[0, 1, 2, 3], revisions=["step16"],
                                 size="160m", variant=variant)
    # the decoupled variants share seed 0 (the original run) and differ in one factor
    a = json.loads((root / "EleutherAI/pythia-160m-data-seed2@step16/tiny_decoder.json").read_text())
    b = json.loads((root / "EleutherAI/pythia-160m-weight-seed2@step16/tiny_decoder.json").read_text())
    assert (a["weight_seed"], a["data_seed"], b["weight_seed"], b["data_seed"]) == (0, 2, 2, 0)
    task = f'[{{ name = "blimp_npi_present_1", data_dir = "{shared_data}" }}]'
    for variant in ("data-seed", "weight-seed"):
        exp = _toml(tmp_path / f"{variant}.toml", tmp_path / "store",
                    f'{{ family = "polypythia-160m-{variant}", steps = 16 }}', task,
                    "[methods.zeroshot]\nmax_eval = 200\n", root)
        s = run_experiment(load_experiment(exp), quiet=True)
        assert s.failed == 0, s.errors
    df = read_predictions(tmp_path / "store")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = compare_randomness(df[df.family == "polypythia-160m-data-seed"],
                                 df[df.family == "polypythia-160m-weight-seed"], metric="score",
                                 nboot=200, seed=0)
    assert rep.n_seeds == (4, 4) and rep.ratio > 0 and rep.f_ci[0] < rep.ratio < rep.f_ci[1]
    assert rep.verdict in ("data order contributes more", "initialisation contributes more",
                           "undetermined")
    assert "between-seed variance of score" in rep.summary().lower()


def test_pos_token_probe_on_a_decoder(tmp_path, mirror, shared_data):
    from multiberts_stats import read_predictions
    from multiberts_stats.runner import Experiment, run_experiment

    root, _ = mirror
    exp = Experiment.from_dict({
        "name": "pos", "store": str(tmp_path / "store"), "checkpoint_root": str(root),
        "checkpoints": {"family": "polypythia-14m", "seeds": 0, "steps": 16},
        "tasks": [{"name": "pos", "data_dir": str(shared_data), "train_split": "validation"}],
        "methods": {"probe": {"max_train": 60, "max_eval": 20, "C": [1.0], "folds": 2}}})
    s = run_experiment(exp, quiet=True)
    assert (s.done, s.failed) == (1, 0), s.errors
    pos = read_predictions(tmp_path / "store", task="pos")
    assert sorted(pos.layer.unique().tolist()) == [0, 1, 2] and set(pos.revision) == {"step16"}
    assert pos.cluster.nunique() == 20 and pos.example_id.str.contains(":").all()


def test_minimal_pair_file_task_and_crows_pairs_through_toml(tmp_path, mirror, bert_family):
    import csv

    from multiberts_stats import read_predictions
    from multiberts_stats.runner import load_experiment, run_experiment

    root, _ = mirror
    pairs = tmp_path / "pairs.csv"
    pairs.write_text('good,bad,phenomenon\n"The cats, all of them, sleep.","The cats, all of '
                     'them, sleeps.",agreement\nShe saw him.,She seen him.,participle\n'
                     "They ran.,They runned.,participle\nThe dog barks.,The dog bark.,agreement\n",
                     encoding="utf-8")
    crows_dir = tmp_path / "crows"
    crows_dir.mkdir()
    with open(crows_dir / "crows_pairs_anonymized.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["", "sent_more", "sent_less", "stereo_antistereo", "bias_type",
                    "annotations", "anon_writer", "anon_annotators"])
        w.writerow([0, "The poor are really ignorant about money.",
                    "The rich are really ignorant about money.", "stereo", "socioeconomic",
                    "[['socioeconomic']]", "a0", "['a1']"])
        w.writerow([1, "He would come forward, the doctor.", "She would come forward, the doctor.",
                    "antistereo", "gender", "[['gender']]", "a1", "['a2']"])
    tasks = (f'[{{ name = "agreement", kind = "minimal_pairs", files = {{ test = "{pairs}" }}, '
             f'text = ["good", "bad"], cluster = "phenomenon" }}, '
             f'{{ name = "crows_pairs", data_dir = "{crows_dir}" }}]')
    bert_root = Path(bert_family[0].path).parent
    for name, ckpts, r in (("dec", '{ family = "polypythia-14m", seeds = "0-1", steps = 16 }', root),
                           ("enc", f'{{ family = "tiny", root = "{bert_root}" }}', None)):
        exp = _toml(tmp_path / f"{name}.toml", tmp_path / "store", ckpts, tasks,
                    "[methods.zeroshot]\nbatch_size = 8\n", r)
        s = run_experiment(load_experiment(exp), quiet=True)
        assert (s.done, s.failed) == (4, 0), s.errors
    df = read_predictions(tmp_path / "store")
    mp = df[df.task == "agreement"]
    assert len(mp) == 4 * 4 and set(mp.cluster) == {"agreement", "participle"}
    assert "phenomenon" in mp.columns and set(mp.split) == {"test"}
    cr = df[df.task == "crows_pairs"]
    assert len(cr) == 4 * 2 and set(cr.cluster) == {"socioeconomic", "gender"}
    assert {"bias_type", "stereo_antistereo", "neutral", "logp_more"} <= set(cr.columns)


def test_toml_selection_by_size_seed_and_step(tmp_path):
    from multiberts_stats.runner import ExperimentError, load_experiment

    def exp(ckpts):
        return load_experiment(_toml(tmp_path / "s.toml", tmp_path / "store", ckpts,
                                     '["sst2"]', "[methods.probe]\nmax_train = 10\n"))

    e = exp('{ family = "polypythia", sizes = ["14m", "70m"], seeds = "0-1", steps = "0,1000" }')
    got = sorted((c.family, c.name, c.revision, c.seed, c.step) for c in e.checkpoints)
    assert len(got) == 8 and got[0] == ("polypythia-14m", "EleutherAI/pythia-14m", "step0", 0, 0)
    assert {c.family for c in e.checkpoints} == {"polypythia-14m", "polypythia-70m"}
    e = exp('{ family = "polypythia", variant = "weight-seed", steps = 143000 }')
    assert sorted(c.name for c in e.checkpoints)[-1] == "EleutherAI/pythia-160m-weight-seed3"
    with pytest.raises(ExperimentError, match="step 1500 that was never released .nearest "
                                              "released: 1000 and 2000"):
        exp('{ family = "polypythia-70m", seeds = 0, steps = 1500 }')
    with pytest.raises(ExperimentError, match="exists for size 160m only"):
        exp('{ family = "polypythia", sizes = "70m", variant = "data-seed" }')
    with pytest.raises(ExperimentError, match="unknown keys \\['sizes'\\]"):
        exp('{ family = "multiberts", sizes = "70m" }')
