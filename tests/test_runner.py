"""The runner in-process: experiment file, job keys, probe path, resumption, failures, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_runner_helpers import (
    checkpoint_dirs,
    shared_family,
    sst2_task,
    tiny_experiment,
)

from multiberts_stats import read_predictions
from multiberts_stats.cli.run import cli_run
from multiberts_stats.cli.status import cli_status
from multiberts_stats.runner import (
    Experiment,
    ExperimentError,
    load_experiment,
    run_experiment,
)
from multiberts_stats.store import COLUMNS, Store


@pytest.fixture(scope="module")
def family(tmp_path_factory, vocab_file):
    return shared_family(tmp_path_factory, vocab_file)


def test_probe_in_process_writes_the_tidy_table_and_resumes(tmp_path, family, shared_data):
    exp = Experiment.from_dict(tiny_experiment(tmp_path / "store", family, shared_data))
    s1 = run_experiment(exp, quiet=True)
    assert (s1.total, s1.done, s1.failed) == (2, 2, 0)
    df = read_predictions(tmp_path / "store")
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 2 * 3 * 60                      # 2 checkpoints x 3 layers x 60 examples
    assert sorted(df.layer.unique().tolist()) == [0, 1, 2]
    assert set(df.pretrain_seed) == {0, 1} and set(df.step) == {0}
    assert set(df.method) == {"probe"} and set(df.family) == {"tiny"}
    assert df.score.between(0, 1).all() and set(df.prediction) <= {0.0, 1.0}
    hp = json.loads(df.hparams.iloc[0])
    assert hp == {"C": [0.1, 1.0], "max_train": 200, "pooling": "mean"}
    # unchanged jobs are not recomputed
    s2 = run_experiment(exp, quiet=True)
    assert (s2.done, s2.skipped) == (0, 2)
    # a changed job is: another probe seed reuses the cached features
    exp.methods["probe"]["seeds"] = [0, 1]
    s3 = run_experiment(exp, quiet=True)
    assert (s3.done, s3.skipped) == (2, 2)
    st = Store(tmp_path / "store")
    cached = [st.provenance(k)["method_info"]["features_cached"] for k in st.done_keys()]
    assert sorted(cached) == [False, False, True, True]
    prov = st.provenance(sorted(st.done_keys())[0])
    assert {"versions", "git_revision", "config", "wall_time_s", "seeds", "job"} <= set(prov)
    assert prov["versions"]["torch"] and prov["versions"]["transformers"]


def test_corrupt_checkpoint_fails_clearly_others_complete(tmp_path, family, shared_data, vocab_file):
    root = tmp_path / "fam"
    good = checkpoint_dirs(family)
    for d in good:
        (root / d.name).mkdir(parents=True)
        for f in d.iterdir():
            (root / d.name / f.name).write_bytes(f.read_bytes())
    bad = root / "seed_7-step_0k"
    bad.mkdir()
    for f in good[0].iterdir():
        if f.name != "tiny_checkpoint.json":
            (bad / f.name).write_bytes(f.read_bytes())
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    exp = Experiment.from_dict(tiny_experiment(tmp_path / "store", root, shared_data))
    s = run_experiment(exp, quiet=True)
    assert (s.total, s.done, s.failed) == (3, 2, 1)
    (key, err), = s.errors.items()
    assert "seed_7-step_0k" in err
    assert set(read_predictions(tmp_path / "store").pretrain_seed) == {0, 1}
    # failed jobs are skipped unless --retry-failed
    s2 = run_experiment(exp, quiet=True)
    assert (s2.done, s2.previously_failed, s2.failed) == (0, 1, 0)
    s3 = run_experiment(exp, quiet=True, retry_failed=True)
    assert (s3.done, s3.failed) == (0, 1)


def test_toml_cli_run_and_status(tmp_path, family, shared_data, capsys):
    g = Path(shared_data) / "glue" / "SST-2"
    toml = tmp_path / "exp.toml"
    toml.write_text(f"""
name = "cli"
store = "out"
checkpoints = {{ family = "tiny", root = "{family}", seeds = [1] }}
tasks = [{{ name = "sst2", files = {{ train = "{g / 'train.tsv'}", validation = "{g / 'dev.tsv'}" }} }}]
[methods.probe]
pooling = "cls"
layers = [0, 2]
max_train = 120
max_eval = 40
C = 0.5
""")
    assert cli_run([str(toml), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 jobs: 1 run" in out
    df = read_predictions(tmp_path / "out")
    assert sorted(df.layer.unique().tolist()) == [0, 2] and set(df.pretrain_seed) == {1}
    assert cli_status([str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "done     1" in out and "pending  0" in out and "failed   0" in out


@pytest.mark.parametrize("patch, match", [
    ({"methods": {"probe": {"pooling": "max"}}},
     "`methods.probe.pooling` key .* must be 'cls', 'mean' or 'last'.* Got 'max'"),
    ({"methods": {"probe": {"C": [-1]}}}, "`methods.probe.C` key"),
    ({"methods": {"probe": {"colour": 1}}}, "`methods.probe` table has unknown keys \\['colour'\\]"),
    ({"methods": {"bake": {}}}, "`methods.bake` key"),
    ({"methods": {"finetune": {"learning_rate": [2e-5, 0]}}}, "`methods.finetune.learning_rate`"),
    ({"methods": {"finetune": {"seeds": "3-1"}}}, "`methods.finetune.seeds`"),
    ({"dtype": "int8"}, "`dtype` key .* Got 'int8'"),
    ({"device": "tpu"}, "`device` key"),
    ({"finetune_seeds": [-1]}, "`finetune_seeds` key"),
    ({"colour": "red"}, "unknown keys \\['colour'\\]"),
    ({"checkpoints": []}, "`checkpoints` key"),
    ({"checkpoints": [{"path": "x", "hub_id": "y"}]}, "`checkpoints\\[0\\]` key .* exactly one of"),
    ({"checkpoints": [{"hub_id": "y", "seed": -2}]}, "`checkpoints\\[0\\].seed` key"),
    ({"tasks": [{"files": {}}]}, "`tasks\\[0\\]` key"),
])
def test_experiment_validation_names_the_key(tmp_path, shared_data, patch, match):
    cfg = {"store": str(tmp_path / "s"), "checkpoints": [{"hub_id": "google/multiberts-seed_0"}],
           "tasks": [sst2_task(shared_data)], "methods": {"probe": {}}}
    cfg.update(patch)
    with pytest.raises(ExperimentError, match=match):
        Experiment.from_dict(cfg)


def test_missing_keys_and_bad_toml(tmp_path):
    with pytest.raises(ExperimentError, match="`store` key of the experiment is required"):
        Experiment.from_dict({"checkpoints": ["x"], "tasks": ["sst2"], "methods": {"probe": {}}})
    bad = tmp_path / "bad.toml"
    bad.write_text("store = [")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        load_experiment(bad)
    with pytest.raises(FileNotFoundError):
        load_experiment(tmp_path / "none.toml")


def test_grid_and_keys(tmp_path, shared_data):
    cfg = {"store": str(tmp_path / "s"), "finetune_seeds": "0-2",
           "checkpoints": [{"hub_id": "google/multiberts-seed_0", "seed": 0, "step": 2000},
                           {"hub_id": "google/multiberts-seed_1", "seed": 1, "step": 2000}],
           "tasks": [sst2_task(shared_data)],
           "methods": {"finetune": {"learning_rate": [2e-5, 5e-5], "epochs": 1}, "probe": {"seeds": [0]}}}
    jobs = Experiment.from_dict(cfg).jobs()
    ft = [j for j in jobs if j.method == "finetune"]
    assert len(ft) == 2 * 2 * 3 and len([j for j in jobs if j.method == "probe"]) == 2
    assert {j.hparams["learning_rate"] for j in ft} == {2e-5, 5e-5}
    assert len({j.key for j in jobs}) == len(jobs)
    again = Experiment.from_dict(cfg).jobs()
    assert [j.key for j in jobs] == [j.key for j in again]         # keys are stable
    cfg["methods"]["finetune"]["epochs"] = 2
    changed = Experiment.from_dict(cfg).jobs()
    assert {j.key for j in changed if j.method == "finetune"}.isdisjoint({j.key for j in ft})
    assert {j.key for j in changed if j.method == "probe"} == {j.key for j in jobs if j.method == "probe"}
    # device is not part of the key, precision is
    assert [j.key for j in Experiment.from_dict(cfg).jobs(device="cuda")] == [j.key for j in changed]
    assert {j.key for j in Experiment.from_dict(cfg).jobs(dtype="bfloat16")}.isdisjoint({j.key for j in changed})
    import pickle
    assert pickle.loads(pickle.dumps(jobs[0])).key == jobs[0].key
