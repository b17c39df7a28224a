"""Word-to-sub-token alignment with the real BERT vocabulary; docstring examples of the package."""

from __future__ import annotations

import doctest
import importlib

import pytest

from multiberts_stats.tasks import align_words_to_subtokens, get_task

transformers = pytest.importorskip("transformers")

TRICKY = ["Don't", "U.S.", "well-known", "café", "naïve", "☃", "antidisestablishmentarianism",
          "\x00", "Ünïcødé", "e-mail:", "😀", "1,000.50", "(", "o'clock", "--", "Zürich's"]


@pytest.fixture(scope="module")
def tok(vocab_file):
    return transformers.BertTokenizer(str(vocab_file))


def _slow_tokenizer(vocab_file):
    """The pure-Python WordPiece tokenizer (exercises the non-fast code path)."""
    try:
        from transformers import BertTokenizerLegacy as Slow  # noqa: N813 (if present)
    except ImportError:
        Slow = None
    if Slow is None:
        pytest.skip("no slow (pure-Python) BERT tokenizer in this transformers version")
    return Slow(str(vocab_file))


@pytest.mark.parametrize("strategy", ["first", "mean"])
@pytest.mark.parametrize("max_length", [None, 12])
def test_slow_tokenizer_path_agrees(tok, vocab_file, strategy, max_length):
    slow = _slow_tokenizer(vocab_file)
    assert not slow.is_fast
    assert (align_words_to_subtokens(TRICKY, slow, strategy, max_length=max_length)
            == align_words_to_subtokens(TRICKY, tok, strategy, max_length=max_length))


@pytest.mark.parametrize("strategy", ["first", "mean"])
def test_alignment_tricky_words(tok, strategy):
    ids, pos = align_words_to_subtokens(TRICKY, tok, strategy)
    # same ids as tokenizing the whole sentence at once
    assert ids == tok(TRICKY, is_split_into_words=True)["input_ids"]
    toks = tok.convert_ids_to_tokens(ids)
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    assert len(pos) == len(TRICKY)
    for w, p in zip(TRICKY, pos):
        pieces = tok.tokenize(w)
        if not pieces:  # a lone control character becomes nothing
            assert p == []
            continue
        if strategy == "first":
            assert len(p) == 1 and toks[p[0]] == pieces[0]
        else:
            assert [toks[i] for i in p] == pieces
            assert p == list(range(p[0], p[0] + len(p)))
    m = {w: p for w, p in zip(TRICKY, pos)}
    if strategy == "mean":
        assert [toks[i] for i in m["Don't"]] == ["don", "'", "t"]
        assert [toks[i] for i in m["well-known"]] == ["well", "-", "known"]
        assert [toks[i] for i in m["café"]] == ["cafe"]  # accents stripped (uncased vocab)
        assert [toks[i] for i in m["☃"]] == ["[UNK]"]
        assert len(m["antidisestablishmentarianism"]) == 8
        assert toks[m["antidisestablishmentarianism"][-1]] == "##ism"


def test_alignment_truncation(tok):
    words = ["antidisestablishmentarianism"] + ["hello"] * 5
    ids, pos = align_words_to_subtokens(words, tok, "mean", max_length=10)
    assert len(ids) == 10 and tok.convert_ids_to_tokens(ids)[-1] == "[SEP]"
    assert len(pos[0]) == 8 and pos[1] == [] and pos[5] == []
    ids, pos = align_words_to_subtokens(words, tok, "first", max_length=11)
    assert pos[0] == [1] and pos[1] == [9] and pos[2] == []


def test_alignment_on_real_sentences(tok, shared_data):
    df = get_task("pos").load(data_dir=shared_data).head(200)
    n_trunc = 0
    for words in df["words"]:
        ids, pos = align_words_to_subtokens(words, tok, "first", max_length=32)
        assert len(ids) <= 32 and len(pos) == len(words)
        firsts = [p[0] for p in pos if p]
        assert firsts == sorted(firsts) and len(set(firsts)) == len(firsts)
        n_trunc += sum(1 for p in pos if not p)
    assert n_trunc > 0  # some long sentences were cut at 32


def test_alignment_bad_input(tok):
    with pytest.raises(ValueError, match="`strategy`"):
        align_words_to_subtokens(["a"], tok, "last")
    with pytest.raises(TypeError, match="list of words"):
        align_words_to_subtokens("a b", tok)
    assert align_words_to_subtokens([], tok)[1] == []


@pytest.mark.parametrize("module", ["base", "readers", "glue", "winogender", "pos", "custom"])
def test_docstring_examples(module, vocab_file, shared_data, monkeypatch):
    monkeypatch.setenv("MULTIBERTS_STATS_DATA", str(shared_data))
    mod = importlib.import_module(f"multiberts_stats.tasks.{module}")
    res = doctest.testmod(mod, extraglobs={"vocab_file": str(vocab_file)}, verbose=False,
                          optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0


def test_pos_evaluate_sentence_and_token_level(shared_data):
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    t = get_task("pos")
    df = t.load(data_dir=shared_data).head(50)
    rng = np.random.default_rng(1)
    df["prediction"] = [[x if rng.random() < 0.9 else (x + 1) % 17 for x in lab] for lab in df["label"]]
    res = t.evaluate(df)
    from multiberts_stats.tasks import explode_tokens

    tok = explode_tokens(df)
    tok["prediction"] = [p for ps in df["prediction"] for p in ps]
    assert t.evaluate(tok) == res
    assert res["accuracy"] == accuracy_score(tok.label, tok.prediction)
    assert res["macro_f1"] == pytest.approx(f1_score(tok.label, tok.prediction, average="macro"))
    df.at[df.index[0], "prediction"] = [0]
    with pytest.raises(ValueError, match="gold tags"):
        t.evaluate(df)
