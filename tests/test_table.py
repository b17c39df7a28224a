"""The predictions-table contract: validation and the one tidy -> MatrixRuns conversion."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from multiberts_stats.errors import InputError, InputTypeError
from multiberts_stats.table import (COLUMNS, CONDITION_COLUMNS, REPLICATE_COLUMNS, RUN_COLUMNS,
                                    MatrixRuns, TableError, TableTypeError, to_matrix_runs,
                                    validate_table)

ROOT = Path(__file__).resolve().parents[1]


def _table(n_seeds=3, n_runs=2, n_ex=7, seed=0, shuffle=False):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_ex)
    rows = []
    for s in range(n_seeds):
        for r in range(n_runs):
            for j in range(n_ex):
                rows.append(dict(pretrain_seed=10 - s, finetune_seed=r, example_id=f"e{j:02d}",
                                 label=labels[j], prediction=int(rng.integers(0, 2)),
                                 score=float(rng.random()), gender="FM"[j % 2]))
    df = pd.DataFrame(rows)
    if shuffle:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


def _plain(df, value="prediction"):
    """The conversion written as a plain loop over runs (groupby), for comparison."""
    runs = sorted(df.groupby(["pretrain_seed", "finetune_seed"]).groups)
    ids = sorted(df["example_id"].unique())
    mat = np.empty((len(runs), len(ids)), dtype=df[value].dtype)
    for i, key in enumerate(runs):
        part = df[(df.pretrain_seed == key[0]) & (df.finetune_seed == key[1])]
        mat[i] = part.set_index("example_id").loc[ids, value].to_numpy()
    return runs, ids, mat


@pytest.mark.parametrize("shuffle", [False, True])
def test_conversion_equals_plain_loop(shuffle):
    df = _table(shuffle=shuffle)
    m = to_matrix_runs(df, run_values=["score"], example_values=["gender"])
    runs, ids, mat = _plain(df)
    assert list(m.run_info.itertuples(index=False, name=None)) == runs
    assert list(m.example_ids) == ids
    np.testing.assert_array_equal(m.preds, mat)
    np.testing.assert_array_equal(m.run_columns["score"], _plain(df, "score")[2])
    first = df.drop_duplicates("example_id").set_index("example_id")
    np.testing.assert_array_equal(m.labels, first.loc[ids, "label"].to_numpy())
    assert list(m.columns["gender"]) == list(first.loc[ids, "gender"])
    assert (m.n_runs, m.n_examples) == (6, 7)


def test_appearance_order_and_carry():
    df = _table(n_seeds=2, n_runs=1, n_ex=3)
    df["example_id"] = df["example_id"].map({"e00": "z", "e01": "a", "e02": "m"})
    df["group"] = np.where(df["pretrain_seed"] == 10, "g10", "g9")
    m = to_matrix_runs(df, order="appearance", carry=["group"])
    assert list(m.example_ids) == ["z", "a", "m"]
    assert m.run_info["pretrain_seed"].tolist() == [10, 9]
    assert m.run_info["group"].tolist() == ["g10", "g9"]
    s = to_matrix_runs(df, carry=["group"])
    assert list(s.example_ids) == ["a", "m", "z"] and s.run_info["pretrain_seed"].tolist() == [9, 10]


def test_value_choice_and_no_preds():
    df = _table()
    m = to_matrix_runs(df, value="score", label=None)
    assert m.labels is None and m.preds.dtype == float
    m2 = to_matrix_runs(df, value=None, label=None, run_values=["score"])
    assert m2.preds is None and m2.n_examples == 7
    np.testing.assert_array_equal(m2.matrix("score"), m.preds)


def test_numeric_and_nullable_columns():
    df = _table()
    df["example_id"] = df["example_id"].str[1:].astype(int)
    df["layer"] = pd.array([pd.NA] * len(df), dtype="Int64")
    m = to_matrix_runs(df)
    assert m.example_ids.tolist() == list(range(7))
    assert "layer" in m.run_info.columns and m.n_runs == 6


@pytest.mark.parametrize("shuffle", [False, True])
def test_conversion_errors(shuffle):
    df = _table(shuffle=shuffle)
    with pytest.raises(TableError, match=r"one row per \(run, example_id\).*duplicated"):
        to_matrix_runs(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(TableError, match="every run needs every example.*missing e.g."):
        to_matrix_runs(df.iloc[1:])
    bad = df.copy()
    bad.loc[bad.index[3], "label"] = 5
    with pytest.raises(TableError, match="`label` column of the `table` table passed to "
                                         "to_matrix_runs must be the same in every run"):
        to_matrix_runs(bad)
    bad = df.copy()
    bad["grp"] = np.arange(len(bad)) % 2
    with pytest.raises(TableError, match="`grp` column must be constant within each run"):
        to_matrix_runs(bad, carry=["grp"])
    with pytest.raises(TableError, match=r"needs the column\(s\) \['nope'\]"):
        to_matrix_runs(df, value="nope")
    with pytest.raises(TableError, match="must not be missing"):
        to_matrix_runs(df.assign(example_id=None))
    with pytest.raises(TableTypeError, match="must be a tidy pandas DataFrame"):
        to_matrix_runs(df.to_dict())
    with pytest.raises(TableError, match="at least one run"):
        to_matrix_runs(df.iloc[:0])
    with pytest.raises(TableError, match="`order` parameter"):
        to_matrix_runs(df, order="random")
    assert issubclass(TableError, InputError) and issubclass(TableTypeError, InputTypeError)
    assert issubclass(TableError, ValueError)


def test_validate_table():
    df = _table()
    assert validate_table(df) is df
    with pytest.raises(TableError, match=r"needs the column\(s\) \['pretrain_seed'\]"):
        validate_table(df.drop(columns="pretrain_seed"))
    with pytest.raises(TableError, match=r"`pretrain_seed` column must hold integers. Got 'x'"):
        validate_table(df.astype({"pretrain_seed": object}).assign(
            pretrain_seed=["x"] + [0] * (len(df) - 1)))
    with pytest.raises(TableError, match="`step` column must hold integers. Got 1.5"):
        validate_table(df.assign(step=1.5))
    with pytest.raises(TableError, match="`finetune_seed` column must have no missing values"):
        validate_table(df.assign(finetune_seed=np.where(np.arange(len(df)) == 2, np.nan, 0.0)))
    with pytest.raises(TableError, match="`label` column must be numeric. Got 'pos'"):
        validate_table(df.assign(label="pos"))
    validate_table(df.assign(label="pos"), dtypes=False)
    with pytest.raises(TableError, match="`task` column must have no missing values"):
        validate_table(df.assign(task=None))
    with pytest.raises(TableError, match=r"one row per \(run, example_id\). Got 2 rows for "
                                         r"example_id 'e00' in run \(pretrain_seed=10, "
                                         r"finetune_seed=0\)"):
        validate_table(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(TableTypeError):
        validate_table([1, 2])
    out = validate_table(df.assign(step=3.0, layer=[None] * len(df)), coerce=True)
    assert out["step"].dtype == np.int64 and str(out["layer"].dtype) == "Int64"
    assert set(RUN_COLUMNS) <= set(COLUMNS)
    assert set(REPLICATE_COLUMNS) | set(CONDITION_COLUMNS) | {"pretrain_seed"} == set(RUN_COLUMNS)


def test_slicing():
    m = to_matrix_runs(_table(), run_values=["score"], example_values=["gender"])
    assert m.seeds() == [8, 9, 10]
    s = m.subset(seeds=[9])
    assert s.n_runs == 2 and set(s.run_info["pretrain_seed"]) == {9}
    np.testing.assert_array_equal(s.preds, m.preds[2:4])
    np.testing.assert_array_equal(s.run_columns["score"], m.run_columns["score"][2:4])
    bs = m.by_seed()
    assert sorted(bs) == [8, 9, 10] and all(v.n_runs == 2 for v in bs.values())
    np.testing.assert_array_equal(bs[9].preds, s.preds)
    w = m.where(finetune_seed=1)
    assert w.n_runs == 3 and set(w.run_info["finetune_seed"]) == {1}
    e = m.subset(examples=[0, 2])
    assert e.preds.shape == (6, 2) and list(e.example_ids) == ["e00", "e02"]
    assert list(e.columns["gender"]) == ["F", "F"]
    base, expt = m.split(m.run_info["finetune_seed"].to_numpy() == 1)
    assert base.n_runs == expt.n_runs == 3
    with pytest.raises(TableError, match="must be seeds of this side"):
        m.subset(seeds=[99])
    with pytest.raises(TableError, match="selects no run"):
        m.where(finetune_seed=7)
    ri, preds, labels = m.to_reference(m.run_info["finetune_seed"].to_numpy() == 1)
    assert list(ri.columns[-2:]) == ["seed", "intervention"] and preds.shape == (6, 7)
    b2, e2 = MatrixRuns.from_reference(ri, preds, labels)
    np.testing.assert_array_equal(e2.preds, expt.preds)


def test_multiboot_accepts_sliced_side_like_tidy():
    from multiberts_stats.bootstrap import multiboot

    df = _table(n_seeds=4)
    m = to_matrix_runs(df)
    a = multiboot(df[df.pretrain_seed == 9], sample_seeds=False, nboot=50, rng=0)
    b = multiboot(m.subset(seeds=[9]), sample_seeds=False, nboot=50, rng=0)
    np.testing.assert_array_equal(a.distribution, b.distribution)


def test_import_is_light():
    code = ("import sys, json; import multiberts_stats.table; "
            "print(json.dumps([m for m in ('pandas', 'torch', 'transformers') if m in sys.modules]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_blocked_and_fragmented_layouts_give_the_same_runs():
    """Run codes from row-to-row changes (blocks) equal the column-by-column codes."""
    df = _table(n_seeds=4, n_runs=3, n_ex=9).assign(task="t", layer=pd.array([3] * 108, "Int64"),
                                                    checkpoint=lambda d: "ck" + d.pretrain_seed.astype(str))
    a = to_matrix_runs(df, one_condition=True)
    b = to_matrix_runs(df.sample(frac=1.0, random_state=1), one_condition=True)
    pd.testing.assert_frame_equal(a.run_info, b.run_info)
    np.testing.assert_array_equal(a.preds, b.preds)
    # the same run split into two blocks is still one run
    c = to_matrix_runs(pd.concat([df.iloc[:50], df.iloc[100:], df.iloc[50:100]]), one_condition=True)
    pd.testing.assert_frame_equal(a.run_info, c.run_info)
    np.testing.assert_array_equal(a.preds, c.preds)
