"""Readers of the published MultiBERTs prediction files and the one-call reproductions.

The published files are not reachable from here, so the tests write small files in exactly the
published formats (the Winogender label_info is built from the real ../shared/data/winogender
files) and check the readers, the official SQuAD 2.0 metrics on hand-checked cases, the bad-input
errors, and that each reproduce call feeds the reference-compatible multibootstrap exactly what
the published notebooks fed it: the draws equal a plain loop of the published algorithm run on
inputs built here the way the notebooks built them, with the same seed.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from multiberts_stats import bootstrap as engine_module
from multiberts_stats import published as P
from multiberts_stats.cli.published import cli_published
from multiberts_stats.published.coref import winogender_example_ids
from multiberts_stats.published.reproduce import linregress_r, linregress_slope
from multiberts_stats.testing import write_example_release

# --------------------------------------------------------------------------------------------
# fixtures: fake-but-format-exact releases
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def release(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("release")
    return write_example_release(root, n_seeds=3, n_finetune=2, n_glue_examples=40,
                                   n_squad_questions=30, winogender_dir=shared_data / "winogender")


@pytest.fixture()
def coref_copy(tmp_path, release):
    import shutil

    dst = tmp_path / "coref"
    shutil.copytree(release / "coref", dst)
    return dst


@pytest.fixture()
def glue_copy(tmp_path, release):
    import shutil

    dst = tmp_path / "glue"
    shutil.copytree(release / "glue", dst)
    return dst


@pytest.fixture()
def squad_copy(tmp_path, release):
    import shutil

    dst = tmp_path / "squad"
    shutil.copytree(release / "squad", dst)
    return dst


def _plain_multibootstrap(run_info, preds, labels, score_fn, paired_seeds, sample_seeds,
                          sample_examples, nboot, rng):
    """The published algorithm written out as a plain loop (the test's slow reference)."""
    run_info = run_info.reset_index(drop=True)
    iv = run_info["intervention"].to_numpy().astype(bool)
    base, expt = {}, {}
    for i in range(len(run_info)):
        (expt if iv[i] else base).setdefault(run_info["seed"].iloc[i], []).append(i)
    if paired_seeds:
        seeds_b = seeds_e = list(set(base).intersection(expt))
    else:
        seeds_b, seeds_e = sorted(base), sorted(expt)
    n = len(labels)
    out = []
    for _ in range(nboot):
        if sample_seeds:
            db = rng.choice(seeds_b, size=len(seeds_b), replace=True)
            de = db if paired_seeds else rng.choice(seeds_e, size=len(seeds_e), replace=True)
        else:
            db, de = seeds_b, seeds_e
        jj = rng.choice(n, size=n, replace=True) if sample_examples else np.arange(n)

        def side(groups, drawn, jj=jj):
            return np.mean([np.mean([score_fn(labels[jj], preds[i, jj]) for i in groups[s]])
                            for s in drawn])

        out.append((side(base, db), side(expt, de)))
    return np.array(out)


# --------------------------------------------------------------------------------------------
# coreference reader
# --------------------------------------------------------------------------------------------

def test_label_info_is_built_from_the_real_winogender_files(shared_data):
    li = P.winogender_label_info(shared_data / "winogender")
    assert len(li) == 720
    assert li["occupation"].nunique() == 60 and li["template_idx"].nunique() == 120
    assert li["gender"].value_counts().to_dict() == {"UNKNOWN": 240, "MASCULINE": 240,
                                                      "FEMININE": 240}
    # published order: template 0 = technician/customer, answer 1; UNKNOWN, MASCULINE, FEMININE
    first = li.iloc[:6]
    assert first["gender"].tolist() == ["UNKNOWN", "MASCULINE", "FEMININE"] * 2
    assert first["someone"].tolist() == [False] * 3 + [True] * 3
    assert set(first["occupation"]) == {"technician"} and set(first["answer"]) == {1}
    ids = set(pd.read_csv(shared_data / "winogender" / "all_sentences.tsv", sep="\t")["sentid"])
    assert set(winogender_example_ids(li)) == ids


def _write_group(folder, run_rows, preds, label_info, index):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(run_rows, index=index).to_csv(folder / "run_info.tsv", sep="\t")
    label_info.to_csv(folder / "label_info.tsv", sep="\t")
    np.savetxt(folder / "preds.tsv", preds, fmt="%d", delimiter=" ")


def test_coref_rows_align_by_file_position_and_seeds_come_from_columns(tmp_path, shared_data):
    li = P.winogender_label_info(shared_data / "winogender")
    runs = [(2, 1), (0, 0), (1, 1), (0, 1), (2, 0), (1, 0)]  # non-numeric order
    gen = np.random.default_rng(3)
    preds = gen.integers(0, 2, (len(runs), 720))
    # row numbers in any order, but each once and without gaps (a gap is a lost row)
    _write_group(tmp_path / "base", [{"pretrain_seed": s, "finetune_seed": f} for s, f in runs],
                 preds, li, index=[4, 1, 5, 2, 3, 0])
    t = P.read_coref(tmp_path, groups="base", occupations=shared_data / "winogender"
                     / "occupations-stats.tsv")
    assert len(t) == 6 * 720
    for k, (s, f) in enumerate(runs):
        rows = t[(t.pretrain_seed == s) & (t.finetune_seed == f)]
        np.testing.assert_array_equal(rows["prediction"].to_numpy(), preds[k])
        assert rows["checkpoint"].iloc[0] == f"google/multiberts-seed_{s}"
    one = t.iloc[2]
    assert one["example_id"] == "technician.customer.1.female.txt"
    assert one["gender"] == "FEMININE" and one["label"] == 1.0 and one["cluster"] == "technician"
    assert one["bls_pct_female"] == pytest.approx(40.34)
    assert t["step"].unique().tolist() == [2000] and t["task"].unique().tolist() == ["winogender"]
    assert str(t["layer"].dtype) == "Int64" and t["layer"].isna().all()
    assert t["pretrain_seed"].dtype == np.int64 and t["finetune_seed"].dtype == np.int64
    assert t["hparams"].unique().tolist() == ["{}"]


def test_read_coref_all_groups_and_families(release):
    t = P.read_coref(release / "coref")
    assert set(t["group"]) == set(P.COREF_GROUPS)
    fam = t.groupby("group")["family"].first().to_dict()
    assert fam["base"] == "multiberts" and len(set(fam.values())) == 4
    steps = t.groupby("group")["step"].first().to_dict()
    assert steps["cda_intervention-50k"] == 2050 and steps["base"] == 2000
    # base_extra_seeds: 5x the fine-tuning runs for the first seeds
    n_runs = t.groupby("group")[["pretrain_seed", "finetune_seed"]].apply(
        lambda d: len(d.drop_duplicates()))
    assert n_runs["base"] == 3 * 2 and n_runs["base_extra_seeds"] == 3 * 10
    assert "bls_pct_female" in t


def test_coref_bias_scores_match_the_notebook_groupby(release):
    g = P.load_coref_group(release / "coref" / "base")
    occs, bias = P.coref_bias_scores(g.preds, g.label_info)
    for r in (0, 3):
        df = g.label_info.copy()
        df["pred_occupation"] = g.preds[r] == 0
        m = df[df.gender == "MASCULINE"].groupby("occupation")["pred_occupation"].mean()
        f = df[df.gender == "FEMININE"].groupby("occupation")["pred_occupation"].mean()
        expected = (f - m).sort_index()
        assert list(expected.index) == list(occs)
        np.testing.assert_allclose(bias[r], expected.to_numpy())


def test_to_matrix_round_trips_the_published_order(release):
    t = P.read_coref(release / "coref", groups=["base", "cda_intervention-50k"])
    m = P.to_matrix(t, t["group"] == "cda_intervention-50k")
    gb = P.load_coref_group(release / "coref" / "base")
    ge = P.load_coref_group(release / "coref" / "cda_intervention-50k")
    np.testing.assert_array_equal(m.preds, np.concatenate([gb.preds, ge.preds]))
    np.testing.assert_array_equal(m.labels, gb.label_info["answer"].to_numpy())
    assert m.run_info["intervention"].tolist() == [False] * gb.n_runs + [True] * ge.n_runs
    np.testing.assert_array_equal(m.run_info["seed"], np.concatenate(
        [gb.run_info.pretrain_seed, ge.run_info.pretrain_seed]))
    with pytest.raises(ValueError, match="same .* examples"):
        P.to_matrix(t.iloc[:-1])
    with pytest.raises(ValueError, match="constant within each run"):
        P.to_matrix(t, np.arange(len(t)) % 2 == 0)


# --------------------------------------------------------------------------------------------
# GLUE reader
# --------------------------------------------------------------------------------------------

def test_glue_reader_argmax_labels_steps_and_checkpoints(release):
    root = release / "glue"
    runs = P.load_glue(root, "MNLI", keep_scores=True)
    idx = pd.read_csv(root / "index.tsv", sep="\t")
    mnli = idx[idx.task == "MNLI"].reset_index(drop=True)
    assert len(runs.index) == len(mnli)
    labels = np.loadtxt(root / "MNLI_dev_labels").astype(int)
    np.testing.assert_array_equal(runs.labels, labels)
    k = 7
    m = np.loadtxt(root / mnli.file[k], delimiter="\t")
    np.testing.assert_array_equal(runs.preds[k], m.argmax(axis=1))
    t = P.read_glue(root, "MNLI")
    row = t[(t.file == mnli.file[k]) & (t.example_id == "5")].iloc[0]
    assert row["prediction"] == m[5].argmax() and row["label"] == labels[5]
    assert row["score_2"] == pytest.approx(m[5, 2])
    assert row["task"] == "mnli" and row["family"] == "multiberts"
    assert json.loads(row["hparams"]) == {"lr": mnli.lr[k]}
    steps = t.groupby("n_steps")["step"].first().to_dict()
    assert steps == {"1M": 1000, "2M": 2000, "0": 1000}
    ck = t.groupby("n_steps")["checkpoint"].first().to_dict()
    assert ck["0"] == "bert-base-uncased"
    assert ck["1M"].endswith("-step_1000k") and ck["2M"] == "google/multiberts-seed_0"
    assert t[t.release == "public"]["family"].unique().tolist() == ["bert-base-uncased"]


def test_glue_stsb_is_one_float_column(release):
    root = release / "glue"
    runs = P.load_glue(root, "STS-B", n_steps="2M")
    assert runs.preds.dtype == float and runs.labels.dtype == float
    idx = pd.read_csv(root / "index.tsv", sep="\t")
    f = idx[(idx.task == "STS-B") & (idx.n_steps == "2M")].file.iloc[0]
    np.testing.assert_allclose(runs.preds[0], np.loadtxt(root / f))


@pytest.mark.parametrize("n_steps,expected", [("2M", 2000), ("1M", 1000), ("200k", 200),
                                              ("0", 0), ("20000", 20)])
def test_parse_steps(n_steps, expected):
    assert P.parse_steps(n_steps) == expected


# --------------------------------------------------------------------------------------------
# SQuAD 2.0 official metrics, hand-checked
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,normalised", [
    ("The Eiffel Tower", "eiffel tower"),
    ("  An apple a day!  ", "apple day"),
    ("Theory of the atom", "theory of atom"),   # 'the' only as a whole word
    ("U.S.A.", "usa"),
    ("rock-n-roll", "rocknroll"),
    ("", ""),
])
def test_squad_normalisation(text, normalised):
    assert P.squad_normalize_answer(text) == normalised


def test_squad_exact_and_f1_hand_checked():
    # gold 'in the 10th century' -> tokens [in, 10th, century]; pred -> [10th, and, 11th, centuries]
    # common = {10th}: precision 1/4, recall 1/3, F1 = 2 * (1/12) / (7/12) = 2/7
    assert P.squad_f1("in the 10th century", "10th and 11th centuries") == pytest.approx(2 / 7)
    assert P.squad_exact_match("The Normans", "normans.") == 1
    assert P.squad_f1("x b b", "b b c") == pytest.approx(2 / 3)   # multiset overlap: 2 of 3 each
    # 'a' is an article: gold [b, b], pred [b, b, c] -> P 2/3, R 1 -> 0.8
    assert P.squad_f1("a b b", "b b c") == pytest.approx(0.8)
    assert P.squad_f1("", "") == 1.0 and P.squad_f1("", "something") == 0.0
    assert P.squad_f1("the", "") == 1.0  # normalises to no tokens: both no-answer

    data = [{"paragraphs": [{"qas": [
        {"id": "q1", "answers": [{"text": "Denmark"}, {"text": "Kingdom of Denmark"}]},
        {"id": "q2", "answers": []},                             # unanswerable
        {"id": "q3", "answers": [{"text": "the"}, {"text": "1066"}]},
        {"id": "q4", "answers": [{"text": "a"}]},                # only an article: unanswerable
    ]}]}]
    preds = {"q1": "the kingdom", "q2": "", "q3": "in 1066", "q4": "something"}
    em, f1 = P.squad_raw_scores(data, preds)
    assert list(em) == ["q1", "q2", "q3", "q4"]
    assert em == {"q1": 0, "q2": 1, "q3": 0, "q4": 0}
    # q1: 'kingdom' vs 'kingdom of denmark': P 1/1, R 1/3 -> 0.5 (max over golds; 'denmark' -> 0)
    # q3: gold 'the' dropped (normalises to ''), '1066' vs 'in 1066': P 1/2, R 1 -> 2/3
    assert f1 == pytest.approx({"q1": 0.5, "q2": 1.0, "q3": 2 / 3, "q4": 0.0})


def test_read_squad_scores_every_run_in_dataset_order(release):
    root = release / "squad"
    runs = P.load_squad(root)
    with open(root / "dev-v2.0.json") as fh:
        data = json.load(fh)["data"]
    qids = [qa["id"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    assert runs.question_ids == qids
    idx = pd.read_csv(root / "index.tsv", sep="\t")
    for k in (0, len(idx) - 1):
        with open(root / idx.file[k]) as fh:
            pred = json.load(fh)
        em, f1 = P.squad_raw_scores(data, pred)
        np.testing.assert_array_equal(runs.exact[k], [em[q] for q in qids])
        np.testing.assert_array_equal(runs.f1[k], [f1[q] for q in qids])  # same floats
    t = P.read_squad(root)
    assert len(t) == len(idx) * len(qids)
    assert set(t.columns) >= {"exact_match", "f1", "answer_text", "family", "step"}
    assert t[t.release == "public"]["family"].unique().tolist() == ["bert-base-uncased"]
    assert t.label.mean() == pytest.approx(np.mean([i % 3 != 2 for i in range(30)]))


# --------------------------------------------------------------------------------------------
# bad input: clear errors naming the file
# --------------------------------------------------------------------------------------------

def test_missing_files_are_named(coref_copy, glue_copy, squad_copy):
    (coref_copy / "base" / "preds.tsv").unlink()
    with pytest.raises(P.PublishedFormatError, match=r"preds.*base/preds.tsv.*does not exist"):
        P.load_coref_group(coref_copy / "base")
    (glue_copy / "MNLI_dev_labels").unlink()
    with pytest.raises(P.PublishedFormatError, match="MNLI_dev_labels"):
        P.load_glue(glue_copy, "MNLI")
    (squad_copy / "dev-v2.0.json").unlink()
    with pytest.raises(P.PublishedFormatError, match="dev-v2.0.json"):
        P.load_squad(squad_copy)
    with pytest.raises(P.PublishedFormatError, match="root.*does not exist"):
        P.read_glue(squad_copy / "nowhere")


def test_run_info_rows_must_match_preds_rows(coref_copy):
    ri = pd.read_csv(coref_copy / "base" / "run_info.tsv", sep="\t", index_col=0)
    ri.iloc[:-1].to_csv(coref_copy / "base" / "run_info.tsv", sep="\t")
    with pytest.raises(P.PublishedFormatError, match=r"preds.tsv'? has 6 rows but the run_info "
                                                     r"file .*run_info.tsv'? has 5"):
        P.load_coref_group(coref_copy / "base")


def test_a_row_lost_from_each_file_is_caught_by_the_run_info_index(coref_copy):
    # run_info.tsv and preds.tsv each lose a different row: equal row counts, misaligned rows
    folder = coref_copy / "base"
    ri = pd.read_csv(folder / "run_info.tsv", sep="\t", index_col=0)
    preds = np.loadtxt(folder / "preds.tsv")
    lost = int(np.argsort(ri.index.to_numpy())[2])       # an interior row number
    ri.drop(index=ri.index[lost]).to_csv(folder / "run_info.tsv", sep="\t")
    other = (lost + 3) % len(preds)
    np.savetxt(folder / "preds.tsv", np.delete(preds, other, axis=0), fmt="%d", delimiter=" ")
    missing = int(ri.index[lost])
    with pytest.raises(P.PublishedFormatError, match=rf"run_info.tsv'? has gaps: 1 row number.*"
                                                     rf"\[{missing}\].*different row"):
        P.load_coref_group(folder)
    with pytest.raises(P.PublishedFormatError, match="has gaps"):
        P.read_coref(coref_copy, groups="base")
    from multiberts_stats.errors import DataWarning

    with pytest.warns(DataWarning, match="has gaps"):
        g = P.load_coref_group(folder, allow_index_gaps=True)
    assert g.n_runs == len(preds) - 1


def test_run_info_index_must_be_unique_integers(coref_copy):
    folder = coref_copy / "base"
    ri = pd.read_csv(folder / "run_info.tsv", sep="\t", index_col=0)
    ri.set_axis([ri.index[1]] + list(ri.index[1:]), axis=0).to_csv(folder / "run_info.tsv",
                                                                  sep="\t")
    with pytest.raises(P.PublishedFormatError, match="more than once"):
        P.load_coref_group(folder)
    ri.set_axis([f"r{i}" for i in range(len(ri))], axis=0).to_csv(folder / "run_info.tsv",
                                                                 sep="\t")
    with pytest.raises(P.PublishedFormatError, match=r"integer row numbers.*'r0'"):
        P.load_coref_group(folder)


def test_label_info_rows_must_match_preds_columns(coref_copy):
    li = pd.read_csv(coref_copy / "base" / "label_info.tsv", sep="\t", index_col=0)
    li.iloc[:700].to_csv(coref_copy / "base" / "label_info.tsv", sep="\t")
    with pytest.raises(P.PublishedFormatError, match="720 columns but the label_info file"):
        P.load_coref_group(coref_copy / "base")


def test_coref_missing_columns_and_bad_values(coref_copy):
    ri = pd.read_csv(coref_copy / "base" / "run_info.tsv", sep="\t", index_col=0)
    ri.rename(columns={"finetune_seed": "ft"}).to_csv(coref_copy / "base" / "run_info.tsv", sep="\t")
    with pytest.raises(P.PublishedFormatError, match=r"columns \['pretrain_seed', "
                                                     r"'finetune_seed'\]. Missing \['finetune_seed'\]"):
        P.load_coref_group(coref_copy / "base")
    ri.to_csv(coref_copy / "base" / "run_info.tsv", sep="\t")
    preds = np.loadtxt(coref_copy / "base" / "preds.tsv")
    preds[1, 3] = 2
    np.savetxt(coref_copy / "base" / "preds.tsv", preds, fmt="%d")
    with pytest.raises(P.PublishedFormatError, match="row 1, column 3"):
        P.load_coref_group(coref_copy / "base")


def test_glue_label_file_length_must_match_prediction_file(glue_copy):
    labels = np.loadtxt(glue_copy / "MNLI_dev_labels")
    np.savetxt(glue_copy / "MNLI_dev_labels", labels[:-2], fmt="%d")
    with pytest.raises(P.PublishedFormatError, match=r"MNLI/release=.*has 40 rows but the labels "
                                                     r"file .*MNLI_dev_labels'? has 38"):
        P.load_glue(glue_copy, "MNLI")


def test_prediction_files_the_index_does_not_list_and_the_reverse(glue_copy, squad_copy):
    idx = pd.read_csv(glue_copy / "index.tsv", sep="\t")
    extra = glue_copy / "MNLI" / "release=multiberts,pretrain_id=9,n_steps=2M,lr=2e-05,ft_seed=0.tsv"
    extra.write_text("0.1\t0.2\t0.7\n")
    with pytest.raises(P.PublishedFormatError, match=r"pretrain_id=9.*is not listed in .*index.tsv"):
        P.load_glue(glue_copy, "MNLI")
    extra.unlink()
    (glue_copy / idx.file[idx.task == "MNLI"].iloc[3]).unlink()
    with pytest.raises(P.PublishedFormatError, match=r"prediction file .*MNLI/release=.*does not exist"):
        P.load_glue(glue_copy, "MNLI")
    sidx = pd.read_csv(squad_copy / "index.tsv", sep="\t")
    sidx.iloc[1:].to_csv(squad_copy / "index.tsv", sep="\t", index=False)
    with pytest.raises(P.PublishedFormatError, match="is not listed in"):
        P.load_squad(squad_copy)


def test_squad_question_ids_missing_from_a_prediction_file(squad_copy):
    idx = pd.read_csv(squad_copy / "index.tsv", sep="\t")
    path = squad_copy / idx.file[2]
    preds = json.loads(path.read_text())
    gone = sorted(preds)[:2]
    for q in gone:
        del preds[q]
    path.write_text(json.dumps(preds))
    with pytest.raises(P.PublishedFormatError, match=rf"{idx.file[2]}.*no prediction for 2 of the "
                                                     rf"30 questions.*{gone[0]}"):
        P.load_squad(squad_copy)


def test_index_without_the_task_says_what_it_has(release):
    with pytest.raises(P.PublishedFormatError, match=r"no run with task='QQP'.*\['MNLI', 'STS-B'\]"):
        P.load_glue(release / "glue", "QQP")


# --------------------------------------------------------------------------------------------
# reproduce calls: the reference-compatible multibootstrap gets the published inputs
# --------------------------------------------------------------------------------------------

@pytest.fixture()
def engine():
    return engine_module  # imported above: a missing engine fails the module, never skips


def _notebook_coref(root, groups, occupations_path):
    """Inputs built the way the published coref notebook built them."""
    from scipy.stats import linregress

    infos, preds = [], []
    for g in groups:
        ri = pd.read_csv(root / g / "run_info.tsv", sep="\t", index_col=0)
        ri["group_name"] = g
        infos.append(ri)
        preds.append(np.loadtxt(root / g / "preds.tsv"))
    run_info = pd.concat(infos, axis=0, ignore_index=True)
    preds = np.concatenate(preds, axis=0)
    label_info = pd.read_csv(root / groups[0] / "label_info.tsv", sep="\t", index_col=0)
    occ = pd.read_csv(occupations_path, sep="\t").set_index("occupation")
    pf = (occ["bls_pct_female"] / 100.0).sort_index()

    def bias(row):
        df = label_info.copy()
        df["pred_occupation"] = row == 0
        m = df[df.gender == "MASCULINE"].groupby("occupation")["pred_occupation"].agg("mean")
        f = df[df.gender == "FEMININE"].groupby("occupation")["pred_occupation"].agg("mean")
        return (f - m).sort_index()

    occs = sorted(label_info.occupation.unique())
    pf_bls = np.array([pf[o] for o in occs])
    bias_scores = np.stack([bias(p) for p in preds])
    return (run_info, preds, label_info["answer"].to_numpy(), bias_scores, pf_bls,
            lambda a, b: np.mean(a == b), lambda x, y: linregress(x, y).rvalue)


def test_reproduce_winogender_intervention_equals_the_published_loop(engine, release):
    root = release / "coref"
    res = P.reproduce_winogender(root, "intervention", nboot=25, quiet=True)
    run_info, preds, answers, bias, pf, acc, corr = _notebook_coref(
        root, ["base", "cda_intervention-50k"], root / "occupations-stats.tsv")
    run_info["seed"] = run_info.pretrain_seed
    run_info["intervention"] = run_info.group_name == "cda_intervention-50k"
    # rng=42: each call starts a fresh RandomState(42), as the notebook passed rng=42 to each
    expected_acc = _plain_multibootstrap(run_info, preds, answers, acc, True, True, True, 25,
                                         np.random.RandomState(42))
    expected_bias = _plain_multibootstrap(run_info, bias, pf, corr, True, True, True, 25,
                                          np.random.RandomState(42))
    np.testing.assert_allclose(res.samples["accuracy"], expected_acc, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.samples["bias_r"], expected_bias, rtol=1e-10, atol=1e-12)
    t = res.table.set_index(["metric", "quantity"])
    delta = expected_bias[:, 1] - expected_bias[:, 0]
    assert t.loc[("bias_r", "delta"), "mean"] == pytest.approx(delta.mean())
    assert t.loc[("bias_r", "delta"), "low"] == pytest.approx(np.quantile(delta, 0.025))
    p = max(np.mean(delta >= 0), 1 / 25)  # bias is expected to go down
    assert t.loc[("bias_r", "delta"), "p"] == pytest.approx(p)
    assert bool(t.loc[("bias_r", "delta"), "expect_negative_effect"])
    assert (t["low"] <= t["mean"]).all() and (t["mean"] <= t["high"]).all()
    assert set(t["design"]) == {"paired"} and set(t["nboot"]) == {25}
    assert t.loc[("accuracy", "base"), "unit"] == "sentence"
    assert t.loc[("bias_r", "base"), "unit"] == "occupation"


@pytest.mark.parametrize("ablation,ss,se", [(None, True, True), ("seeds_only", True, False),
                                            ("examples_only", False, True)])
def test_reproduce_winogender_from_scratch_and_ablations(engine, release, ablation, ss, se):
    root = release / "coref"
    res = P.reproduce_winogender(root, "from_scratch", ablation=ablation, nboot=20, rng=7,
                                 metrics="bias_r", quiet=True)
    run_info, _, _, bias, pf, _, corr = _notebook_coref(
        root, ["cda_intervention-50k", "from_scratch"], root / "occupations-stats.tsv")
    run_info["seed"] = run_info.pretrain_seed
    run_info["intervention"] = run_info.group_name == "from_scratch"
    expected = _plain_multibootstrap(run_info, bias, pf, corr, False, ss, se, 20,
                                     np.random.RandomState(7))
    np.testing.assert_allclose(res.samples["bias_r"], expected, rtol=1e-10)
    assert res.table["design"].unique().tolist() == ["unpaired"]
    assert res.table["sample_seeds"].iloc[0] == ss and res.table["sample_examples"].iloc[0] == se


def test_reproduce_winogender_seed0_vs_seed1(engine, release):
    root = release / "coref"
    res = P.reproduce_winogender(root, "seed0_vs_seed1", metrics="accuracy", nboot=20, quiet=True)
    ri = pd.read_csv(root / "base_extra_seeds" / "run_info.tsv", sep="\t", index_col=0)
    preds = np.loadtxt(root / "base_extra_seeds" / "preds.tsv")
    keep = ri.pretrain_seed.isin([0, 1]).to_numpy()
    ri = ri[keep].reset_index(drop=True)
    ri["seed"], ri["intervention"] = ri.pretrain_seed, ri.pretrain_seed == 1
    answers = pd.read_csv(root / "base_extra_seeds" / "label_info.tsv", sep="\t",
                          index_col=0)["answer"].to_numpy()
    expected = _plain_multibootstrap(ri, preds[keep], answers, lambda a, b: np.mean(a == b),
                                     False, True, True, 20, np.random.RandomState(42))
    np.testing.assert_allclose(res.samples["accuracy"], expected)
    assert res.table["n_runs_base"].iloc[0] == 10 and res.table["n_seeds_base"].iloc[0] == 1


def test_numpy_bias_r_equals_scipy_linregress():
    from scipy.stats import linregress

    gen = np.random.default_rng(1)
    for _ in range(50):
        x, y = gen.random(60), gen.normal(size=60)
        x[gen.integers(0, 60, 10)] = x[0]  # duplicates, as resampled occupations have
        lr = linregress(x, y)
        assert linregress_r(x, y) == pytest.approx(lr.rvalue, rel=1e-12, abs=1e-15)
        assert linregress_slope(x, y) == pytest.approx(lr.slope, rel=1e-12, abs=1e-15)
    assert linregress_r(np.arange(5.0), np.ones(5)) == 0.0  # scipy's convention: r = 0


def test_reproduce_winogender_sentence_unit_resamples_sentences(engine, release):
    root = release / "coref"
    res = P.reproduce_winogender(root, "intervention", metrics="bias_r", unit="sentence",
                                 nboot=8, quiet=True)
    run_info, preds, _, _, _, _, _ = _notebook_coref(root, ["base", "cda_intervention-50k"],
                                                     root / "occupations-stats.tsv")
    run_info["seed"] = run_info.pretrain_seed
    run_info["intervention"] = run_info.group_name == "cda_intervention-50k"
    li = pd.read_csv(root / "base" / "label_info.tsv", sep="\t", index_col=0)
    occ = P.read_occupations(root / "occupations-stats.tsv") / 100

    def bias_r_of_draw(idx, y_pred):  # slow, direct: per-occupation shares over drawn sentences
        from scipy.stats import linregress

        d = li.iloc[idx].assign(res=np.asarray(y_pred) == 0)
        f = d[d.gender == "FEMININE"].groupby("occupation")["res"].mean()
        m = d[d.gender == "MASCULINE"].groupby("occupation")["res"].mean()
        b = (f - m).dropna().sort_index()
        return linregress(occ.reindex(b.index).to_numpy(), b.to_numpy()).rvalue

    expected = _plain_multibootstrap(run_info, preds, np.arange(720), bias_r_of_draw, True, True,
                                     True, 8, np.random.RandomState(42))
    np.testing.assert_allclose(res.samples["bias_r"], expected, rtol=1e-9)


def test_reproduce_steps_selects_the_best_lr_and_pairs_seeds(engine, release):
    root = release / "glue"
    res = P.reproduce_steps(root, "MNLI", nboot=20, quiet=True)
    idx = pd.read_csv(root / "index.tsv", sep="\t")
    run_info = idx[(idx.task == "MNLI") & (idx.release == "multiberts")].copy()
    labels = np.loadtxt(root / "MNLI_dev_labels").astype(int)
    run_info["preds"] = [np.argmax(np.loadtxt(root / f, delimiter="\t"), axis=1)
                         for f in run_info.file]
    run_info["score"] = [np.mean(p == labels) for p in run_info.preds]

    def best(sub):
        return sub.groupby("lr").agg({"score": "mean"})["score"].idxmax()

    kept = [sub[sub.lr == best(sub)] for _, sub in run_info.groupby(["release", "n_steps", "task"])]
    sel = pd.concat(kept).reset_index(drop=True)
    sel["intervention"] = sel.n_steps == "2M"
    sel["seed"] = sel.pretrain_id
    expected = _plain_multibootstrap(sel, np.stack(sel.preds), labels,
                                     lambda a, b: np.mean(a == b), True, True, True, 20,
                                     np.random.RandomState(42))
    np.testing.assert_allclose(res.samples["accuracy"], expected)
    row = res.table.iloc[0]
    assert row["lr_base"] == best(run_info[run_info.n_steps == "1M"])
    assert row["lr_expt"] == best(run_info[run_info.n_steps == "2M"])


def test_reproduce_squad_equals_the_published_loop(engine, release):
    root = release / "squad"
    res = P.reproduce_squad(root, nboot=20, quiet=True)
    idx = pd.read_csv(root / "index.tsv", sep="\t")
    run_info = idx[(idx.task == "v2.0") & ((idx.n_steps == "2M") | (idx.release == "public"))]
    with open(root / "dev-v2.0.json") as fh:
        dataset = json.load(fh)["data"]
    ex, f1 = {}, {}
    for fname in run_info.file:
        with open(root / fname) as fh:
            ex[fname], f1[fname] = P.squad_raw_scores(dataset, json.load(fh))
    ex = pd.DataFrame(ex).transpose().values
    f1 = pd.DataFrame(f1).transpose().values
    run_info = run_info.copy()
    run_info["seed"] = run_info.pretrain_id
    run_info["intervention"] = run_info.release == "multiberts"
    mean_fn = lambda y_true, y_pred: np.mean(y_pred)
    for name, mat in (("exact", ex), ("f1", f1)):
        expected = _plain_multibootstrap(run_info, mat, np.zeros(mat.shape[1]), mean_fn, False,
                                         True, True, 20, np.random.RandomState(42))
        np.testing.assert_allclose(res.samples[name], expected)
    # a RandomState object is one stream shared by the metrics, in order
    shared = P.reproduce_squad(root, nboot=20, quiet=True, rng=np.random.RandomState(5))
    rng = np.random.RandomState(5)
    for name, mat in (("exact", ex), ("f1", f1)):
        expected = _plain_multibootstrap(run_info, mat, np.zeros(mat.shape[1]), mean_fn, False,
                                         True, True, 20, rng)
        np.testing.assert_allclose(shared.samples[name], expected)
    assert res.table["n_seeds_base"].iloc[0] == 1 and res.table["n_seeds_expt"].iloc[0] == 3


def test_fixed_rng_reproduces_and_bad_parameters_are_named(engine, release):
    a = P.reproduce_squad(release / "squad", nboot=10, quiet=True, metrics="f1")
    b = P.reproduce_squad(release / "squad", nboot=10, quiet=True, metrics="f1")
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(ValueError, match=r"`nboot` parameter of squad_v2.* positive integer. "
                                         r"Got -3 instead"):
        P.reproduce_squad(release / "squad", nboot=-3, quiet=True)
    with pytest.raises(ValueError, match="`comparison` parameter of reproduce_winogender"):
        P.reproduce_winogender(release / "coref", "cda")
    with pytest.raises(ValueError, match="`ablation` parameter"):
        P.reproduce_winogender(release / "coref", ablation="seeds")


def test_cli_published(engine, release, tmp_path, capsys):
    out = tmp_path / "res.csv"
    rc = cli_published(["winogender", str(release / "coref"), "--metrics", "accuracy",
                          "--nboot", "10", "--quiet", "--out", str(out)])
    assert rc == 0
    table = pd.read_csv(out)
    assert table["quantity"].tolist() == ["base", "expt", "delta"]
    assert "PublishedResult(winogender:intervention)" in capsys.readouterr().out
    rc = cli_published(["squad", str(tmp_path / "missing"), "--nboot", "10"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


def test_cli_read_and_example_release(release, tmp_path, capsys, shared_data):
    out = tmp_path / "glue.parquet"
    assert cli_published(["read", "glue", str(release / "glue"), "--task", "STS-B",
                            "--out", str(out)]) == 0
    t = pd.read_parquet(out)
    assert set(t["task"]) == {"stsb"} and len(t) == (2 * 3 * 4 * 2 + 4 * 2) * 40
    d = tmp_path / "rel"
    assert cli_published(["example-release", str(d), "--kinds", "squad", "--n-seeds", "2"]) == 0
    assert (d / "squad" / "dev-v2.0.json").is_file()


def test_module_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, multiberts_stats.published as p; "
            "print(any(m in sys.modules for m in ('torch', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cached_squad_scorer_equals_the_official_definitions_on_messy_text():
    gen = np.random.default_rng(0)
    vocab = ["The", "the", "a", "An", "Paris", "paris,", "10th", "century!", "U.S.", "of", "", " "]

    def text():
        return " ".join(gen.choice(vocab, size=gen.integers(0, 5)))

    qas = [{"id": f"q{i}", "answers": [{"text": text()} for _ in range(gen.integers(0, 4))]}
           for i in range(300)]
    data = [{"paragraphs": [{"qas": qas}]}]
    preds = {q["id"]: text() for q in qas}
    cem, cf1 = P.SquadScorer(data).score(preds)
    # the official get_raw_scores, written out: gold answers that normalise to nothing are
    # dropped ('' when none is left), then the max over golds of the per-pair definitions
    em, f1 = [], []
    for q in qas:
        golds = [a["text"] for a in q["answers"] if P.squad_normalize_answer(a["text"])] or [""]
        em.append(max(P.squad_exact_match(g, preds[q["id"]]) for g in golds))
        f1.append(max(P.squad_f1(g, preds[q["id"]]) for g in golds))
    np.testing.assert_array_equal(cem, em)
    np.testing.assert_array_equal(cf1, f1)
    assert 0 < np.mean(cem) < 1 and np.any((cf1 > 0) & (cf1 < 1))
    raw_em, raw_f1 = P.squad_raw_scores(data, preds)
    assert list(raw_em.values()) == em and list(raw_f1.values()) == f1


def test_winogender_sides_for_the_modern_engine(release):
    b, e, design = P.winogender_sides(release / "coref", "intervention")
    assert design == "paired" and set(b["group"]) == {"base"}
    assert set(e["group"]) == {"cda_intervention-50k"}
    assert sorted(b.pretrain_seed.unique()) == sorted(e.pretrain_seed.unique())
    b, e, design = P.winogender_sides(release / "coref", "seed0_vs_seed1")
    assert design == "unpaired" and set(b.pretrain_seed) == {0} and set(e.pretrain_seed) == {1}
    assert b.groupby("finetune_seed").ngroups == 10


@pytest.mark.filterwarnings("ignore:Only 3 seeds are resampled")
def test_reproduce_winogender_clusters_runs_the_modern_engine(engine, release):
    res = P.reproduce_winogender_clusters(release / "coref", "intervention", nboot=30)
    assert res.design == "paired" and res.nboot == 30
    assert len(res.to_frame()) == 3 and "delta" in res.ci
    low, high = res.ci["delta"]
    assert low <= high


def test_occupations_file_is_optional_for_the_table_but_named_for_bias(coref_copy):
    (coref_copy / "occupations-stats.tsv").unlink()
    t = P.read_coref(coref_copy, groups="base")
    assert "bls_pct_female" not in t
    with pytest.raises(P.PublishedFormatError, match="occupations-stats.tsv"):
        P.reproduce_winogender(coref_copy, metrics="bias_r", nboot=5, quiet=True)


def test_index_with_a_leading_index_column_and_duplicate_rows(glue_copy):
    idx = pd.read_csv(glue_copy / "index.tsv", sep="\t")
    idx.to_csv(glue_copy / "index.tsv", sep="\t", index=True)  # leading unnamed index column
    assert len(P.load_glue(glue_copy, "STS-B").index) == len(idx[idx.task == "STS-B"])
    pd.concat([idx, idx.iloc[:1]]).to_csv(glue_copy / "index.tsv", sep="\t", index=False)
    with pytest.raises(P.PublishedFormatError, match="more than once"):
        P.load_glue(glue_copy, "STS-B")


def test_read_published_tells_the_kind_from_the_files(release, tmp_path):
    assert set(P.read_published(release / "coref")["task"]) == {"winogender"}
    assert set(P.read_published(release / "glue")["task"]) == {"mnli", "stsb"}
    assert set(P.read_published(release / "squad")["task"]) == {"squad_v2"}
    with pytest.raises(P.PublishedFormatError, match="none of the published layouts"):
        P.read_published(tmp_path)
