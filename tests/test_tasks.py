"""Task registry and data loading: real GLUE / Winogender / UD files, metrics, user tasks, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sstats
from sklearn import metrics as skm

import multiberts_stats.tasks as T
from multiberts_stats.tasks import (DataNotFoundError, MalformedFileError, TaskError, get_task,
                                    list_tasks, register_task, task_from_config, task_from_file)


# ----------------------------------------------------------------------------- registry
def test_import_is_light():
    code = ("import sys, multiberts_stats.tasks as t; t.get_task('sst2'); "
            "print([m for m in ('torch', 'transformers', 'datasets') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_has_glue_winogender_pos():
    names = list_tasks()
    for n in ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli", "winogender", "pos"]:
        assert n in names
    assert get_task("SST-2") is get_task("sst2")
    assert get_task("glue/sts-b").name == "stsb"
    assert get_task("UPOS").name == "pos"
    assert get_task("cola").metrics == ("mcc",)
    assert get_task("mrpc").metrics == ("accuracy", "f1")
    assert get_task("qqp").metrics == ("accuracy", "f1")
    assert get_task("stsb").metrics == ("pearson", "spearman")
    assert get_task("stsb").label_space is None and get_task("stsb").kind == "regression"
    assert get_task("mnli").splits == ("train", "validation_matched", "validation_mismatched")
    assert get_task("mnli").default_split == "validation_matched"
    w = get_task("winogender")
    assert w.unit == "occupation" and w.metrics[0] == "accuracy"
    assert set(w.metrics) == {"accuracy", "winogender_bias_r", "winogender_bias_slope"}
    from multiberts_stats.metrics import METRICS

    for n in names:
        assert all(m in METRICS for m in get_task(n).metrics)


def test_unknown_task_lists_registered():
    with pytest.raises(TaskError) as e:
        get_task("sst3")
    msg = str(e.value)
    assert "'sst3'" in msg and "sst2" in msg and "winogender" in msg and "rte" in msg
    with pytest.raises(KeyError):  # also a KeyError, for dict-like use
        get_task("nope")


def test_get_task_overrides(shared_data):
    t = get_task("rte", data_dir=shared_data)
    assert t is not get_task("rte") and t.data_dir == shared_data
    assert len(t.load()) == 277
    with pytest.raises(TypeError, match="colour"):
        get_task("rte", colour="red")


def test_register_conflict(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("text,label\nx,0\ny,1\n")
    t = task_from_file("sst2", p, "text")
    with pytest.raises(TaskError, match="already registered"):
        register_task(t)


def test_bad_metric_and_kind():
    with pytest.raises(TaskError, match="not a known metric"):
        T.Task(name="x", kind="classification", label_space=["a", "b"], metrics=("auc",))
    with pytest.raises(TaskError, match="`kind`"):
        T.Task(name="x", kind="ranking", label_space=["a", "b"])


# ----------------------------------------------------------------------------- real files
def test_sst2_dev(shared_data):
    df = get_task("sst2").load("validation", data_dir=shared_data)
    assert len(df) == 872
    assert df["label"].value_counts().to_dict() == {1: 444, 0: 428}
    assert df["example_id"].iloc[123] == "sst2-validation-000123"
    assert df["example_id"].is_unique and (df["cluster"] == df["example_id"]).all()
    assert list(df.columns[:4]) == ["example_id", "sentence", "label", "cluster"]
    assert df["label"].dtype == np.int64
    assert df["sentence"].iloc[0] == "it 's a charming and often affecting journey . "


def test_sst2_train_via_env(shared_data, monkeypatch):
    monkeypatch.setenv("MULTIBERTS_STATS_DATA", str(shared_data))
    df = get_task("sst2").load("train")
    assert len(df) == 67349


def test_rte_dev(shared_data):
    df = get_task("rte").load(data_dir=shared_data / "glue")  # the glue/ folder works too
    assert len(df) == 277
    # label strings map onto the hub's order: 0 = entailment, 1 = not_entailment
    assert df["label"].value_counts().to_dict() == {0: 146, 1: 131}
    assert df["label"].iloc[0] == 1 and df["label"].iloc[1] == 0
    assert df["sentence2"].iloc[0] == "Christopher Reeve had an accident."


def test_mrpc_dev_bom_and_columns(shared_data):
    df = get_task("mrpc").load(data_dir=shared_data / "glue" / "MRPC")  # the task folder works too
    assert len(df) == 408
    assert df["label"].value_counts().to_dict() == {1: 279, 0: 129}
    assert df["id1"].iloc[0] == "1355540" and df["id2"].iloc[0] == "1355592"
    # quotes are text, not CSV quoting (QUOTE_NONE)
    assert df["sentence2"].iloc[0] == '"The foodservice pie business does not fit our long-term growth strategy.'
    assert '"100 percent behind George Bush"' in df["sentence2"].iloc[1]


def test_winogender(shared_data):
    df = get_task("winogender").load(data_dir=shared_data)
    assert len(df) == 720 and df["occupation"].nunique() == 60
    assert (df["cluster"] == df["occupation"]).all()
    assert df.groupby(["gender", "answer"]).size().tolist() == [120] * 6
    assert df["someone"].sum() == 360
    assert df["template_id"].nunique() == 120
    r = df.set_index("example_id").loc["technician.customer.1.male.txt"]
    assert r["occupation"] == "technician" and r["participant"] == "customer" and r["answer"] == 1
    assert r["label"] == 1 and r["gender_tag"] == "MASCULINE" and r["pronoun"] == "he"
    assert r["bls_pct_female"] == pytest.approx(40.34) and r["pronoun_case"] == "NOM"
    for row in df.itertuples():
        assert row.sentence[row.pronoun_start:row.pronoun_end].lower() == row.pronoun.lower()
        assert T.winogender.PRONOUNS[row.pronoun_case][row.gender] == row.pronoun.lower()
    assert df["pronoun_case"].value_counts().to_dict() == {"NOM": 534, "POSS": 162, "ACC": 24}
    # bls % is constant within an occupation
    assert (df.groupby("occupation")["bls_pct_female"].nunique() == 1).all()


def test_pos_dev(shared_data):
    df = get_task("pos").load(data_dir=shared_data)
    assert len(df) == 2001 and df["n_words"].sum() == 25147
    assert df["words"].iloc[0] == ["From", "the", "AP", "comes", "this", "story", ":"]
    assert df["upos"].iloc[0] == ["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"]
    assert df["label"].iloc[0] == [T.UPOS.index(t) for t in df["upos"].iloc[0]]
    assert len(T.UPOS) == 17
    tok = T.explode_tokens(df)
    assert len(tok) == 25147 and tok["example_id"].is_unique
    assert tok["cluster"].nunique() == 2001
    # multiword tokens (e.g. "don't" = do + n't) are split into their words
    assert (tok["word"] == "n't").sum() > 0


def test_offline_no_data_says_where(tmp_path, monkeypatch):
    monkeypatch.delenv("MULTIBERTS_STATS_DATA", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as e:
        get_task("cola").load(data_dir=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "glue" / "CoLA" / "dev.tsv") in msg and "HF_HUB_OFFLINE" in msg
    monkeypatch.setenv("MULTIBERTS_STATS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match="all_sentences.tsv"):
        get_task("winogender").load(data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="en_ewt-ud-dev.conllu"):
        get_task("pos").load(data_dir=tmp_path)


def test_bad_split_and_split_aliases(shared_data):
    with pytest.raises(TaskError, match="`split`.*validation_matched.*Got 'dev'"):
        get_task("mnli").load("dev", data_dir=shared_data)
    with pytest.raises(TaskError, match="`split`.*'train', 'validation'.*Got 'test'"):
        get_task("sst2").load("test", data_dir=shared_data)
    # a runner asking every task for "validation" gets each task's evaluation data
    assert get_task("mnli").resolve_split("validation") == "validation_matched"
    w = get_task("winogender").load("validation", data_dir=shared_data)
    assert len(w) == 720 and w.attrs["split"] == "test"


# ----------------------------------------------------------------------------- GLUE formats
def _write(path, text, bom=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def test_cola_headerless_and_mcc(tmp_path):
    rows = ["gj04\t1\t\tOur friends won't buy this analysis.",
            "gj04\t0\t*\tOne more pseudo generalization and I'm giving up.",
            "gj04\t1\t\tThe \"quoted\" sentence.",
            "gj04\t0\t*\tThey drank the pub.",
            "gj04\t1\t\tThe professor talked us."]
    _write(tmp_path / "glue" / "CoLA" / "dev.tsv", "\n".join(rows) + "\n")
    t = get_task("cola")
    df = t.load(data_dir=tmp_path)
    assert df["label"].tolist() == [1, 0, 1, 0, 1]
    assert df["sentence"].iloc[2] == 'The "quoted" sentence.'
    df["prediction"] = [1, 0, 0, 0, 1]
    assert t.evaluate(df) == {"mcc": pytest.approx(skm.matthews_corrcoef(df.label, df.prediction))}


def test_mnli_and_stsb_formats(tmp_path):
    hdr = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
           "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "label2",
           "label3", "label4", "label5", "gold_label"]
    lines = ["\t".join(hdr)]
    for i, g in enumerate(["neutral", "contradiction", "entailment"]):
        lines.append("\t".join([str(i), "1", f"{i}n", "fiction", "(", "(", "(", "(", f"p {i}",
                                f"h {i}", g, g, g, g, g, g]))
    _write(tmp_path / "MNLI" / "dev_mismatched.tsv", "\n".join(lines) + "\n")
    df = get_task("mnli").load("validation_mismatched", data_dir=tmp_path)
    assert df["label"].tolist() == [1, 2, 0] and df["premise"].tolist() == ["p 0", "p 1", "p 2"]
    assert df["example_id"].iloc[2] == "mnli-validation_mismatched-000002"

    hdr = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"
    gold = [5.0, 4.75, 0.5, 2.0, 3.2]
    lines = [hdr] + [f"{i}\tmain-captions\tMSRvid\t2012test\t{i}\tnone\tnone\ta {i}\tb {i}\t{g}"
                     for i, g in enumerate(gold)]
    _write(tmp_path / "glue" / "STS-B" / "dev.tsv", "\n".join(lines) + "\n")
    t = get_task("stsb")
    df = t.load(data_dir=tmp_path)
    assert df["label"].tolist() == gold and df["label"].dtype == float
    df["prediction"] = [4.0, 4.9, 1.0, 1.5, 3.0]
    res = t.evaluate(df)
    assert res["pearson"] == pytest.approx(sstats.pearsonr(gold, df.prediction)[0])
    assert res["spearman"] == pytest.approx(sstats.spearmanr(gold, df.prediction)[0])


def test_metrics_match_sklearn(shared_data):
    t = get_task("mrpc")
    df = t.load(data_dir=shared_data)
    rng = np.random.default_rng(0)
    df["prediction"] = np.where(rng.random(len(df)) < 0.8, df["label"], 1 - df["label"])
    res = t.evaluate(df)
    assert res["accuracy"] == pytest.approx(skm.accuracy_score(df.label, df.prediction))
    assert res["f1"] == pytest.approx(skm.f1_score(df.label, df.prediction))
    assert list(res) == ["accuracy", "f1"]
    # a different prediction column name
    res2 = t.evaluate(df.rename(columns={"prediction": "yhat"}), prediction_col="yhat")
    assert res2 == res


def test_malformed_tsv_line_numbers(tmp_path):
    _write(tmp_path / "RTE" / "dev.tsv",
           "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta b\tnot_entailment\n"
           "\n2\tc\td\tentailment\textra\n3\te\tf\tentailment\n")
    with pytest.raises(MalformedFileError) as e:
        get_task("rte").load(data_dir=tmp_path)
    msg = str(e.value)
    assert "line 3" in msg and "line 5" in msg and "2 malformed" in msg
    assert [ln for ln, _ in e.value.lines] == [3, 5]
    with pytest.warns(UserWarning, match="line 3"):
        df = T.read_tsv(tmp_path / "RTE" / "dev.tsv", on_bad_lines="warn")
    assert df["index"].tolist() == ["0", "3"] and df["_line"].tolist() == [2, 6]


def test_label_outside_label_space_glue(tmp_path):
    _write(tmp_path / "RTE" / "dev.tsv",
           "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tmaybe\n")
    with pytest.raises(TaskError, match=r"outside the label space.*line 3: 'maybe'"):
        get_task("rte").load(data_dir=tmp_path)


def test_missing_glue_column(tmp_path):
    _write(tmp_path / "SST-2" / "dev.tsv", "text\tlabel\nfine\t1\n")
    with pytest.raises(TaskError, match=r"lacks the column\(s\) \['sentence'\].*\['text', 'label'\]"):
        get_task("sst2").load(data_dir=tmp_path)


def test_empty_glue_file(tmp_path):
    _write(tmp_path / "SST-2" / "dev.tsv", "")
    with pytest.raises(TaskError, match="empty"):
        get_task("sst2").load(data_dir=tmp_path)
    _write(tmp_path / "SST-2" / "dev.tsv", "sentence\tlabel\n")
    with pytest.raises(TaskError, match="no examples"):
        get_task("sst2").load(data_dir=tmp_path)


# ----------------------------------------------------------------------------- Winogender
def _copy_winogender(src, dst, drop_occupation=None):
    dst.mkdir(parents=True)
    for f in ["all_sentences.tsv", "templates.tsv", "occupations-stats.tsv"]:
        text = (src / f).read_text(encoding="utf-8")
        if f == "occupations-stats.tsv" and drop_occupation:
            text = "".join(ln for ln in text.splitlines(True) if not ln.startswith(drop_occupation + "\t"))
        (dst / f).write_text(text, encoding="utf-8")


def test_winogender_missing_occupation(shared_data, tmp_path):
    _copy_winogender(shared_data / "winogender", tmp_path / "winogender", drop_occupation="nurse")
    with pytest.raises(TaskError, match=r"occupation 'nurse'.*missing from the statistics file"):
        get_task("winogender").load(data_dir=tmp_path)


def test_winogender_bias_hand_pattern(shared_data):
    t = get_task("winogender")
    df = t.load(data_dir=shared_data)
    bls = df.groupby("occupation")["bls_pct_female"].first()
    fem_occ = set(bls.index[bls > 50])
    # female sentences resolved to the occupation iff it is majority-female; male ones never
    pred = np.where((df["gender"] == "female") & df["occupation"].isin(fem_occ), 0, 1)
    df["prediction"] = pred
    res = t.evaluate(df)
    ind = (bls > 50).astype(float)  # per-occupation bias: 1 for majority-female, else 0
    r_known = sstats.pearsonr(bls / 100, ind)[0]
    slope_known = np.polyfit(bls / 100, ind, 1)[0]
    assert res["winogender_bias_r"] == pytest.approx(r_known)
    assert res["winogender_bias_slope"] == pytest.approx(slope_known)
    assert res["accuracy"] == pytest.approx(np.mean(pred == df["label"]))
    # the mirror pattern negates r
    df["prediction"] = np.where((df["gender"] == "male") & df["occupation"].isin(fem_occ), 0, 1)
    assert t.evaluate(df)["winogender_bias_r"] == pytest.approx(-r_known)
    # resolving everything to the occupation: no bias, r undefined
    df["prediction"] = 0
    assert np.isnan(t.evaluate(df)["winogender_bias_r"])


# ----------------------------------------------------------------------------- user tasks
def test_task_from_file_csv_tsv_jsonl(tmp_path):
    (tmp_path / "r.csv").write_text('id,text,stars,site\na1,"Good, ""really""",pos,x\n'
                                    'a2,Bad,neg,y\na3,Meh,neg,x\n')
    t = task_from_file("reviews_csv", tmp_path / "r.csv", ["text"], label="stars",
                       metric=["accuracy", "macro_f1"], id_column="id", cluster_column="site")
    df = t.load()
    assert t.label_space == ["neg", "pos"] and t.unit == "site"
    assert df["example_id"].tolist() == ["a1", "a2", "a3"]
    assert df["text"].iloc[0] == 'Good, "really"' and df["label"].tolist() == [1, 0, 0]
    assert df["cluster"].tolist() == ["x", "y", "x"]
    df["prediction"] = [1, 1, 0]
    assert t.evaluate(df)["macro_f1"] == pytest.approx(skm.f1_score(df.label, df.prediction, average="macro"))

    (tmp_path / "p.tsv").write_text('a\tb\tscore\nx "y\tz\t0.5\nq\tr\t1.5\n')
    t2 = task_from_file("pairs_tsv", tmp_path / "p.tsv", ["a", "b"], label="score", metric="pearson")
    assert t2.kind == "regression" and t2.load()["label"].tolist() == [0.5, 1.5]
    assert t2.load()["a"].iloc[0] == 'x "y'

    (tmp_path / "n.jsonl").write_text("\n".join(json.dumps(o) for o in [
        {"premise": "a", "hyp": "b", "y": 2}, {"premise": "c", "hyp": "d", "y": 0}]) + "\n")
    t3 = task_from_file("nli_jsonl", tmp_path / "n.jsonl", ["premise", "hyp"], label="y")
    assert t3.kind == "pair_classification" and t3.label_space == ["0", "1", "2"]
    assert t3.load()["label"].tolist() == [2, 0]


def test_task_from_config_and_register(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"s": "x", "l": "b"}\n{"s": "y", "l": "a"}\n')
    cfg = {"name": "cfg_task", "path": "d.jsonl", "text_fields": ["s"], "label": "l",
           "metric": "accuracy", "label_space": ["a", "b"]}
    with pytest.raises(TaskError, match="does not exist"):
        task_from_config(cfg)
    cfg["path"] = str(tmp_path / "d.jsonl")
    t = register_task(task_from_config(cfg), overwrite=True)
    assert get_task("cfg_task") is t and "cfg_task" in list_tasks()
    assert get_task("cfg_task").load()["label"].tolist() == [1, 0]
    with pytest.raises(TaskError, match=r"Unknown key\(s\) \['lable'\]"):
        task_from_config({**cfg, "lable": "l"})


def test_user_task_errors(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("text,label\na,pos\nb,neg\nc,maybe\n")
    with pytest.raises(TaskError, match=r"outside the label space.*line 4: 'maybe'"):
        task_from_file("t1", p, "text", label_space=["neg", "pos"]).load()
    with pytest.raises(TaskError, match=r"lacks the column\(s\) \['body'\].*\['text', 'label'\]"):
        task_from_file("t2", p, "body", label_space=["neg", "pos"]).load()
    with pytest.raises(TaskError, match=r"lacks the label column 'y'.*\['text', 'label'\]"):
        task_from_file("t2b", p, "text", label="y")
    with pytest.raises(TaskError, match="does not exist"):
        task_from_file("t3", tmp_path / "nope.csv", "text")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TaskError, match="empty"):
        task_from_file("t4", tmp_path / "empty.csv", "text", label_space=["a"]).load()
    (tmp_path / "hdr.csv").write_text("text,label\n")
    with pytest.raises(TaskError, match="no rows"):
        task_from_file("t5", tmp_path / "hdr.csv", "text", label_space=["a"]).load()
    (tmp_path / "dup.csv").write_text("id,text,label\n1,a,0\n2,b,1\n1,c,0\n")
    with pytest.raises(TaskError, match=r"unique.*\['1'\]"):
        task_from_file("t6", tmp_path / "dup.csv", "text", id_column="id").load()
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "label": 0}\n{"text": "b", label: 1}\n[1]\n')
    with pytest.raises(MalformedFileError, match="line 2.*line 3"):
        task_from_file("t7", tmp_path / "bad.jsonl", "text", label_space=["0", "1"]).load()
    (tmp_path / "bad.csv").write_text('text,label\na,0\nb,1,extra\n')
    with pytest.raises(MalformedFileError, match="line 3"):
        task_from_file("t8", tmp_path / "bad.csv", "text", label_space=["0", "1"]).load()
    with pytest.raises(TaskError, match="`format`"):
        task_from_file("t9", p, "text", format="xlsx", label_space=["neg", "pos", "maybe"]).load()


def test_cli_tasks(shared_data):
    env = {"MULTIBERTS_STATS_DATA": str(shared_data), "HF_HUB_OFFLINE": "1", "PATH": ""}
    import os

    env = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-m", "multiberts_stats", "tasks", "--format", "json"],
                         capture_output=True, text=True, env=env, check=True)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["winogender"]["unit"] == "occupation"
    assert rows["sst2"]["data"].endswith("SST-2") and "offline" in rows["cola"]["data"]
    out = subprocess.run([sys.executable, "-m", "multiberts_stats", "tasks", "rte", "pos", "--count"],
                         capture_output=True, text=True, env=env, check=True)
    assert "277" in out.stdout and "2001" in out.stdout and "sst2" not in out.stdout
    bad = subprocess.run([sys.executable, "-m", "multiberts_stats", "tasks", "nope"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "Registered tasks" in bad.stderr


def test_runner_facing_attributes(tmp_path):
    assert get_task("sst2").level == "sentence" and get_task("stsb").level == "sentence"
    assert get_task("pos").level == "token" and get_task("winogender").level == "zeroshot"
    w = get_task("winogender")
    assert {"gender", "occupation", "bls_pct_female"} <= set(w.extra_columns)
    assert w.cluster_column == "occupation" and get_task("rte").cluster_column is None
    (tmp_path / "a.csv").write_text("s,y,grp\nx,0,g1\nz,1,g2\n")
    t = task_from_file(name="alias_task", file=tmp_path / "a.csv", text_field="s", label="y",
                       metrics=["accuracy", "f1"], cluster_column="grp")
    assert t.metrics == ("accuracy", "f1") and t.extra_columns == ("grp",)
    assert t.load()["cluster"].tolist() == ["g1", "g2"]
    t2 = task_from_config({"name": "alias2", "file": str(tmp_path / "a.csv"), "text_fields": "s",
                           "label": "y"})
    assert t2.label_space == ["0", "1"]
    with pytest.raises(TaskError, match="needs a `path`"):
        task_from_file("nopath", text_fields="s")


def test_on_bad_lines_warn_through_get_task(tmp_path):
    _write(tmp_path / "QQP" / "dev.tsv",
           "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
           "7\t1\t2\tHow?\tWhy?\t0\n8\t3\t4\tbroken line\n9\t5\t6\tA \"b\tc\t1\n")
    with pytest.raises(MalformedFileError, match="line 3"):
        get_task("qqp").load(data_dir=tmp_path)
    with pytest.warns(UserWarning, match=r"1 malformed line.*line 3"):
        df = get_task("qqp", on_bad_lines="warn").load(data_dir=tmp_path)
    assert df["id"].tolist() == ["7", "9"] and df["label"].tolist() == [0, 1]
    assert df["question1"].iloc[1] == 'A "b'
