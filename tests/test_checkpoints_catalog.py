"""The MultiBERTs catalog, selection parsing, custom families and the `checkpoints` CLI.

None of these tests needs torch: the catalog must list fast.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from multiberts_stats.cli.checkpoints import cli_checkpoints
from multiberts_stats.checkpoints import (
    MULTIBERTS_STEPS,
    Checkpoint,
    CheckpointError,
    CheckpointSelectionError,
    Family,
    custom_family,
    multiberts,
)

ROOT = Path(__file__).resolve().parents[1]
EXPECTED_STEPS = [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 300, 400, 500, 600, 700, 800,
                  900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000]


# --------------------------------------------------------------------------- catalog exactness
def test_catalog_has_exactly_the_170_released_ids():
    fam = multiberts()
    ids = [c.hub_id for c in fam]
    assert len(fam) == 170 and len(set(ids)) == 170
    finals = {f"google/multiberts-seed_{s}" for s in range(25)}
    intermediate = {f"google/multiberts-seed_{s}-step_{k}k" for s in range(5) for k in EXPECTED_STEPS}
    assert len(intermediate) == 145
    assert set(ids) == finals | intermediate
    assert list(MULTIBERTS_STEPS) == EXPECTED_STEPS and len(EXPECTED_STEPS) == 29


def test_catalog_labels_seed_step_and_raw_step():
    fam = multiberts()
    for c in fam:
        assert c.family == "multiberts" and c.path is None and c.revision is None
        assert c.step_raw == 1000 * c.step
        if c.hub_id.endswith("k"):
            seed_part, step_part = c.hub_id.removeprefix("google/multiberts-seed_").split("-step_")
            assert (int(seed_part), int(step_part[:-1])) == (c.seed, c.step)
        else:  # final checkpoints are at 2000k
            assert c.hub_id == f"google/multiberts-seed_{c.seed}" and c.step == 2000
    assert fam.seeds == tuple(range(25)) and list(fam.steps) == EXPECTED_STEPS
    # per seed: 29 (+ the final alias) for seeds 0-4, only the final for 5-24
    for s in range(25):
        steps = [c.step for c in fam if c.seed == s]
        assert steps == (EXPECTED_STEPS + [2000] if s < 5 else [2000])


def test_order_puts_final_id_before_its_step_2000k_alias():
    fam = multiberts()
    seed0 = [c.hub_id for c in fam if c.seed == 0]
    assert seed0[0] == "google/multiberts-seed_0-step_0k"
    assert seed0[-2:] == ["google/multiberts-seed_0", "google/multiberts-seed_0-step_2000k"]
    assert fam.get(0, 2000).hub_id == "google/multiberts-seed_0"


def test_to_frame_columns_and_dtypes():
    frame = multiberts().to_frame()
    assert list(frame.columns) == ["family", "checkpoint", "hub_id", "path", "revision", "seed",
                                   "step", "step_raw"]
    assert len(frame) == 170
    assert str(frame["seed"].dtype) == "int64" and str(frame["step"].dtype) == "int64"
    assert (frame["checkpoint"] == frame["hub_id"]).all()


# --------------------------------------------------------------------------- selection
@pytest.mark.parametrize("seeds, steps, expected", [
    ("0-4", None, 145),
    (None, 2000, 25),
    ("all", "2000", 25),
    ("0-24", 2000, 25),
    ([0, 3], "0,200,2000", 6),
    ("0-4", "0,200,2000", 15),
    ("0-4,9", 2000, 6),
    (2, "0-200", 11),
    (2, "0..200", 11),
    (None, "250-350", 5),        # a range picks the released steps inside it: 300 for seeds 0-4
    (None, None, 165),           # unique (seed, step): the 5 aliases collapse
    (range(3), [0, 20], 6),
])
def test_select_counts(seeds, steps, expected):
    assert len(multiberts().select(seeds=seeds, steps=steps)) == expected


def test_select_unique_false_keeps_both_ids_at_2000k():
    fam = multiberts()
    both = fam.select(seeds="0-4", steps=2000, unique=False)
    assert len(both) == 10
    assert len(fam.select(unique=False)) == 170
    unique = fam.select(seeds="0-4", steps=2000)
    assert [c.hub_id for c in unique] == [f"google/multiberts-seed_{s}" for s in range(5)]


def test_select_returns_family_in_catalog_order():
    sel = multiberts().select(seeds=[3, 1], steps=[200, 0])
    assert isinstance(sel, Family) and sel.name == "multiberts"
    assert [(c.seed, c.step) for c in sel] == [(1, 0), (1, 200), (3, 0), (3, 200)]


def test_seed_outside_range_lists_what_exists():
    with pytest.raises(CheckpointSelectionError) as err:
        multiberts().select(seeds=25)
    msg = str(err.value)
    assert "`seeds`" in msg and "25" in msg and "(0-24)" in msg
    assert "seeds 5-24: step 2000" in msg


def test_intermediate_steps_for_seeds_5_24_is_an_error():
    with pytest.raises(CheckpointSelectionError) as err:
        multiberts().select(seeds="3-7", steps=200)
    msg = str(err.value)
    assert "(5, 200)" in msg and "(7, 200)" in msg and "(3, 200)" not in msg
    assert "seeds 0-4: steps 0, 20, 40" in msg and "seeds 5-24: step 2000" in msg
    # lenient selection keeps what exists
    assert len(multiberts().select(seeds="3-7", steps=200, strict=False)) == 2


def test_unreleased_step_is_an_error():
    with pytest.raises(CheckpointSelectionError) as err:
        multiberts().select(steps=250)
    msg = str(err.value)
    assert "250" in msg and "never released" in msg and "1900, 2000" in msg
    with pytest.raises(CheckpointSelectionError, match="holds no released step"):
        multiberts().select(steps="210-290")


@pytest.mark.parametrize("bad", ["a-b", "4-1", "", [], "1;2", 1.5, True, -1, {"a": 1}])
def test_malformed_selector_names_parameter(bad):
    with pytest.raises(CheckpointSelectionError, match="`seeds` parameter of Family.select"):
        multiberts().select(seeds=bad)


# --------------------------------------------------------------------------- checkpoints
def test_checkpoint_is_frozen_picklable_and_validated():
    c = multiberts().get(1, 900)
    assert pickle.loads(pickle.dumps(c)) == c
    fam = multiberts().select(seeds=1)
    assert pickle.loads(pickle.dumps(fam)) == fam
    with pytest.raises(Exception):
        c.seed = 3  # frozen
    with pytest.raises(CheckpointError, match="exactly one of `hub_id` and `path`"):
        Checkpoint("x", None, None, 0, 0, 0)
    with pytest.raises(CheckpointError, match="`seed` of a Checkpoint"):
        Checkpoint("x", "a/b", None, -1, 0, 0)


def test_custom_family_hub_ids_revisions_and_folders(tmp_path):
    (tmp_path / "run1").mkdir()
    fam = custom_family("mine", [
        "bert-base-uncased@86b5e0934494bd15c9632b12f734a8a67f723594",
        {"path": tmp_path / "run1", "seed": 11, "step": 40},
        {"id": str(tmp_path / "run1"), "seed": 12, "step": 40},
        {"hub_id": "org/model", "revision": "v2", "seed": 5, "step": 7, "step_raw": 7123},
    ])
    a, b, c, d = fam
    assert (a.hub_id, a.revision, a.seed, a.step, a.step_raw) == (
        "bert-base-uncased", "86b5e0934494bd15c9632b12f734a8a67f723594", 0, 0, 0)
    assert b.path == str(tmp_path / "run1") and b.hub_id is None and (b.seed, b.step) == (11, 40)
    assert c.path == b.path and c.seed == 12
    assert (d.revision, d.step_raw) == ("v2", 7123)
    assert fam.select(steps=40).names == [b.path, c.path]
    assert all(x.family == "mine" for x in fam)


def test_custom_family_single_baseline_and_errors():
    base = custom_family("bert-base-uncased", "bert-base-uncased")
    assert len(base) == 1 and base[0].seed == 0
    with pytest.raises(CheckpointError, match="share the label seed=0, step=0"):
        custom_family("dup", [{"hub_id": "a/b", "seed": 0}, {"hub_id": "a/c", "seed": 0}])
    with pytest.raises(CheckpointError, match="unknown key"):
        custom_family("bad", [{"hub_id": "a/b", "sed": 0}])
    with pytest.raises(CheckpointError, match="`members` parameter of custom_family"):
        custom_family("bad", [3.5])
    with pytest.raises(CheckpointError, match="at least one"):
        custom_family("bad", [])


# --------------------------------------------------------------------------- CLI
def test_cli_json(capsys):
    assert cli_checkpoints(["--seeds", "0-4", "--steps", "0,200,2000", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 15
    assert {"hub_id", "seed", "step"} <= set(rows[0])
    assert rows[0] == {"family": "multiberts", "checkpoint": "google/multiberts-seed_0-step_0k",
                       "hub_id": "google/multiberts-seed_0-step_0k", "seed": 0, "step": 0,
                       "step_raw": 0}


def test_cli_table_csv_and_all_ids(capsys):
    assert cli_checkpoints(["--steps", "2000", "--all-ids", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "family,checkpoint,hub_id,seed,step,step_raw" and len(lines) == 31
    assert cli_checkpoints([]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("165 checkpoint(s); steps in thousands")
    assert cli_checkpoints(["--all-ids", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 170


def test_cli_bad_input_exit_code(capsys):
    assert cli_checkpoints(["--steps", "250"]) == 2
    assert "never released" in capsys.readouterr().err


def test_cli_through_module_is_fast_and_torch_free():
    code = ("import sys, runpy; sys.argv=['multiberts_stats','checkpoints','--seeds','1',"
            "'--format','json']\n"
            "from multiberts_stats.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'\n"
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 29
