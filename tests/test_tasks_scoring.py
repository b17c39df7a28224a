"""Winogender zero-shot scoring with a real (tiny, randomly initialised) BertForMaskedLM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import multiberts_stats.tasks as T
from multiberts_stats.tasks import get_task, score_winogender

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # tiny models: thread start-up dominates, and the 2-core machine is shared (restored after)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tokenizer(vocab_file):
    return transformers.BertTokenizer(str(vocab_file))  # positional: the keyword is ignored in 5.x


def _tiny(cls, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=128)
    m = cls(cfg)
    m.eval()
    return m


@pytest.fixture(scope="module")
def model():
    return _tiny(transformers.BertForMaskedLM)


@pytest.fixture(scope="module")
def wino(shared_data):
    return get_task("winogender").load(data_dir=shared_data)


def _slow_pll(model, tokenizer, sentence):
    ids = tokenizer(sentence)["input_ids"]
    total = 0.0
    with torch.no_grad():
        for pos in range(1, len(ids) - 1):
            x = torch.tensor([ids])
            x[0, pos] = tokenizer.mask_token_id
            logits = model(input_ids=x).logits[0, pos]
            total += torch.log_softmax(logits, -1)[ids[pos]].item()
    return total


def test_pll_equals_slow_one_at_a_time(model, tokenizer):
    sents = ["The nurse notified the patient that her shift would be ending in an hour.",
             "Someone met with the accountant to get help filing his taxes."]
    fast = T.pseudo_log_likelihood(model, tokenizer, sents, batch_size=7)
    slow = [_slow_pll(model, tokenizer, s) for s in sents]
    assert fast.shape == (2,)
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4)
    # batch-size invariance, duplicates, order
    again = T.pseudo_log_likelihood(model, tokenizer, sents[::-1] + sents[:1], batch_size=64)
    np.testing.assert_allclose(again, [fast[1], fast[0], fast[0]], rtol=1e-5, atol=1e-4)


def test_pll_with_pretraining_head(tokenizer):
    m = _tiny(transformers.BertForPreTraining, seed=1)
    s = "The chef told the guest that he had cooked the fish."
    np.testing.assert_allclose(T.pseudo_log_likelihood(m, tokenizer, [s]), [_slow_pll_pt(m, tokenizer, s)],
                               rtol=1e-5, atol=1e-4)


def _slow_pll_pt(model, tokenizer, sentence):
    ids = tokenizer(sentence)["input_ids"]
    total = 0.0
    with torch.no_grad():
        for pos in range(1, len(ids) - 1):
            x = torch.tensor([ids])
            x[0, pos] = tokenizer.mask_token_id
            logits = model(input_ids=x).prediction_logits[0, pos]
            total += torch.log_softmax(logits, -1)[ids[pos]].item()
    return total


def test_pronoun_probabilities_match_slow(model, tokenizer, wino):
    ex = wino[wino["pronoun_case"].isin(["ACC", "POSS"])].head(3)
    ex = pd.concat([ex, wino.head(2)])
    pp = T.pronoun_probabilities(model, tokenizer, ex, batch_size=2)
    assert list(pp.columns) == ["example_id", "p_female", "p_male", "p_neutral"]
    for row, got in zip(ex.itertuples(), pp.itertuples()):
        masked = row.sentence[:row.pronoun_start] + "[MASK]" + row.sentence[row.pronoun_end:]
        ids = tokenizer(masked)["input_ids"]
        pos = ids.index(tokenizer.mask_token_id)
        with torch.no_grad():
            p = torch.softmax(model(input_ids=torch.tensor([ids])).logits[0, pos], -1)
        forms = T.winogender.PRONOUNS[row.pronoun_case]
        want = [p[tokenizer.convert_tokens_to_ids(forms[g])].item() for g in ("female", "male", "neutral")]
        np.testing.assert_allclose([got.p_female, got.p_male, got.p_neutral], want, rtol=1e-4)


def test_score_winogender_subset(model, tokenizer, wino):
    ex = wino[wino["occupation"].isin(["nurse", "technician", "accountant"])]
    out = score_winogender(model, tokenizer, ex, batch_size=128, progress=False)
    assert len(out) == len(ex) == 36
    assert out["example_id"].tolist() == ex["example_id"].tolist()
    assert list(out.columns) == ["example_id", "prediction", "score", "pll_occupation",
                                 "pll_participant", "p_female", "p_male", "p_neutral"]
    assert set(out["prediction"].unique()) <= {0, 1} and out["prediction"].dtype == np.int64
    assert ((out["score"] > 0.5) == (out["prediction"] == 1)).all()
    assert out[["p_female", "p_male", "p_neutral"]].gt(0).all().all()
    # the PLLs are those of the rewritten sentences
    r = ex.iloc[5].to_dict()
    want = T.pseudo_log_likelihood(model, tokenizer, [T.rewrite_sentence(r, "occupation", "apposition"),
                                                      T.rewrite_sentence(r, "participant", "apposition")])
    np.testing.assert_allclose(out.iloc[5][["pll_occupation", "pll_participant"]].astype(float), want,
                               rtol=1e-5)
    # deterministic
    again = score_winogender(model, tokenizer, ex, batch_size=16, progress=False, pronouns=False)
    assert (again["prediction"].values == out["prediction"].values).all()
    assert again["p_female"].isna().all()
    # evaluate through the task's metrics
    merged = ex.merge(out[["example_id", "prediction"]], on="example_id")
    res = get_task("winogender").evaluate(merged)
    assert 0 <= res["accuracy"] <= 1 and set(res) == {"accuracy", "winogender_bias_r", "winogender_bias_slope"}


def test_substitution_is_gender_blind(model, tokenizer, wino):
    ex = wino[wino["occupation"].isin(["nurse", "engineer"]) & (wino["gender"] != "neutral")]
    out = score_winogender(model, tokenizer, ex, method="substitution", progress=False, pronouns=False)
    by = ex.assign(pred=out["prediction"].values).pivot_table(index=["template_id", "participant"],
                                                             columns="gender", values="pred")
    assert (by["female"] == by["male"]).all()  # the rewrite removed the only gendered word


def test_rewrite_cases(wino):
    r = wino.set_index("example_id").loc["accountant.taxpayer.1.female.txt"].to_dict()
    assert T.rewrite_sentence(r, "occupation") == \
        "The taxpayer met with the accountant to get help filing the accountant's taxes."
    assert T.rewrite_sentence(r, "participant", "apposition") == \
        "The taxpayer met with the accountant to get help filing her (the taxpayer's) taxes."
    r = wino.set_index("example_id").loc["accountant.someone.1.male.txt"].to_dict()
    assert T.rewrite_sentence(r, "participant") == \
        "Someone met with the accountant to get help filing someone's taxes."
    acc = wino[wino["pronoun_case"] == "ACC"].iloc[0].to_dict()
    out = T.rewrite_sentence(acc, "occupation")
    assert f"the {acc['occupation']}" in out and acc["pronoun"] not in out.split()
    with pytest.raises(ValueError, match="`method`"):
        T.rewrite_sentence(r, "occupation", "swap")
    with pytest.raises(ValueError, match="`which`"):
        T.rewrite_sentence(r, "pronoun")


def test_score_winogender_bad_input(model, tokenizer, wino):
    with pytest.raises(T.TaskError, match=r"lack the column\(s\) \['pronoun_start'"):
        score_winogender(model, tokenizer, wino[["example_id", "sentence"]], progress=False)
    with pytest.raises(ValueError, match="`batch_size`"):
        score_winogender(model, tokenizer, wino.head(2), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="`method`"):
        score_winogender(model, tokenizer, wino.head(2), method="vote", progress=False)


def test_bf16_autocast_close(model, tokenizer, wino):
    sents = wino["sentence"].head(3).tolist()
    full = T.pseudo_log_likelihood(model, tokenizer, sents)
    half = T.pseudo_log_likelihood(model, tokenizer, sents, amp="bf16")
    np.testing.assert_allclose(half, full, rtol=0.05)
    with pytest.raises(ValueError, match="`amp`"):
        T.pseudo_log_likelihood(model, tokenizer, sents, amp="int8")


def test_inputs_longer_than_the_model(tokenizer, wino):
    torch.manual_seed(3)
    cfg = transformers.BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32,
                                  max_position_embeddings=12)
    short = transformers.BertForMaskedLM(cfg).eval()
    ex = wino[wino["pronoun_start"] > 60].head(4)  # pronoun beyond 12 sub-tokens
    with pytest.warns(UserWarning, match="longer than the model's 12 tokens"):
        out = score_winogender(short, tokenizer, ex, quiet=True)
    assert out["prediction"].isin([0, 1]).all() and np.isfinite(out["pll_occupation"]).all()
    assert out[["p_female", "p_male", "p_neutral"]].gt(0).all().all()
    # the pronoun window keeps the mask: equal to a slow computation on the same window
    row = ex.iloc[0]
    masked = row.sentence[:row.pronoun_start] + "[MASK]" + row.sentence[row.pronoun_end:]
    ids = tokenizer(masked)["input_ids"]
    w, p = T.winogender._window(ids, ids.index(tokenizer.mask_token_id), 12, ids[0], ids[-1])
    assert len(w) == 12 and w[p] == tokenizer.mask_token_id and w[0] == ids[0] and w[-1] == ids[-1]
    with torch.no_grad():
        probs = torch.softmax(short(input_ids=torch.tensor([w])).logits[0, p], -1)
    want = probs[tokenizer.convert_tokens_to_ids(T.winogender.PRONOUNS[row.pronoun_case]["female"])].item()
    assert out["p_female"].iloc[0] == pytest.approx(want, rel=1e-4)
    with pytest.raises(ValueError, match="`max_length`"):
        T.pseudo_log_likelihood(short, tokenizer, ["a b"], max_length=2)


def test_pronoun_missing_from_a_reduced_vocabulary(tmp_path, wino):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "he", "his", "him", "they",
             "their", "them", ".", "that", "told", "could", "pay", "with", "cash", "technician",
             "customer", "someone", ","]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    tok = transformers.BertTokenizer(str(tmp_path / "vocab.txt"))
    torch.manual_seed(4)
    m = transformers.BertForMaskedLM(transformers.BertConfig(
        vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64)).eval()
    ex = wino[wino["template_id"] == "technician.1"]
    with pytest.warns(UserWarning, match=r"\['her', 'she'\].*NaN"):
        out = score_winogender(m, tok, ex, quiet=True)
    nom = (ex["pronoun_case"] == "NOM").values
    assert out.loc[nom, "p_female"].isna().all() and out.loc[nom, "p_male"].notna().all()
    assert out["prediction"].isin([0, 1]).all()


def test_long_rewrites_keep_the_referent(model, tokenizer, wino):
    r = wino.set_index("example_id").loc["technician.customer.1.male.txt"].to_dict()
    r["example_id"] = "x"
    txt, span = T.rewrite_sentence(r, "participant", "apposition", _span=True)
    assert txt[span[0]:span[1]] == "he, the customer,"
    ids = tokenizer(txt)["input_ids"]
    c = T.winogender._token_at(tokenizer, txt, span, ids)
    assert tokenizer.convert_ids_to_tokens(ids[c]) in ("the", ",", "customer", "he")
    w, _ = T.winogender._window(ids, c, 10, ids[0], ids[-1])
    wt = tokenizer.convert_ids_to_tokens(w)
    assert len(w) == 10 and wt[0] == "[CLS]" and wt[-1] == "[SEP]"
    k = wt.index("he")
    assert wt[k:k + 5] == ["he", ",", "the", "customer", ","]  # the rewritten span is kept whole
    with pytest.warns(UserWarning, match="window of 8 sub-tokens around the given span"):
        got = T.pseudo_log_likelihood(model, tokenizer, [txt], max_length=10, keep_spans=[span])
    assert got[0] == pytest.approx(T.pseudo_log_likelihood(model, tokenizer, [tokenizer.decode(w[1:-1])])[0],
                                   rel=1e-4)
