"""Winogender schemas (Rudinger et al., 2018): loading, and zero-shot scoring with a masked LM.

Data: ``all_sentences.tsv`` (sentid, sentence), ``templates.tsv`` and ``occupations-stats.tsv``
from ``<root>/winogender/`` (``<root>`` = ``data_dir`` or ``$MULTIBERTS_STATS_DATA``; ``data_dir``
may also be the winogender folder itself), or downloaded from the authors' repository
(rudinger/winogender-schemas) when online.

One row per sentence (720): ``example_id`` = the sentid (``technician.customer.1.male.txt``),
``sentence``, ``label`` = ``answer`` (0 = the pronoun refers to the occupation, 1 = to the other
participant), ``cluster`` = ``occupation``, ``participant`` (the word used: ``customer`` or
``someone``), ``other_participant`` (the template's participant), ``someone`` (bool),
``gender`` (female / male / neutral), ``gender_tag`` (FEMININE / MASCULINE / NEUTRAL),
``pronoun``, ``pronoun_case`` (NOM / ACC / POSS), ``pronoun_start`` / ``pronoun_end`` (character
span in ``sentence``), ``template_id`` (``occupation.answer``), ``template``, ``bls_pct_female``,
``bergsma_pct_female``, ``bls_year``.

Scoring (:func:`score_winogender`; torch is imported inside): each sentence's pronoun is resolved
by comparing masked-LM pseudo-log-likelihoods (Salazar et al., 2020) of two rewritten sentences,
one naming the occupation and one naming the participant, and the pronoun slot is also masked to
read the probabilities of the female / male / neutral pronouns of its case.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataWarning

from .base import (
    Task,
    TaskError,
    cache_dir,
    data_roots,
    fetch_published_file,
    first_existing,
    hub_allowed,
)
from .readers import read_tsv

__all__ = ["WinogenderTask", "PRONOUNS", "score_winogender", "rewrite_sentence", "masked_token_logprobs",
           "pseudo_log_likelihood", "pronoun_probabilities", "WINOGENDER"]

FILES = ("all_sentences.tsv", "templates.tsv", "occupations-stats.tsv")
REMOTE = "https://raw.githubusercontent.com/rudinger/winogender-schemas/master/data/"

# case -> gender -> pronoun
PRONOUNS = {
    "NOM": {"female": "she", "male": "he", "neutral": "they"},
    "ACC": {"female": "her", "male": "him", "neutral": "them"},
    "POSS": {"female": "her", "male": "his", "neutral": "their"},
}
GENDER_TAGS = {"female": "FEMININE", "male": "MASCULINE", "neutral": "NEUTRAL"}
_SLOT = re.compile(r"\$(NOM|ACC|POSS)_PRONOUN")


@dataclass
class WinogenderTask(Task):
    """The Winogender task (see the module docstring for the columns)."""

    def zeroshot_scorer(self):
        """:func:`score_winogender` (pseudo-log-likelihood of the two readings)."""
        return score_winogender

    def _folder(self, data_dir) -> tuple[Path | None, list[Path]]:
        roots = data_roots(data_dir)
        path, looked = first_existing(roots, ["winogender/all_sentences.tsv", "all_sentences.tsv"])
        return (path.parent if path is not None else None), looked

    def data_source(self, data_dir=None) -> str:
        folder, _ = self._folder(data_dir if data_dir is not None else self.data_dir)
        if folder is not None:
            return str(folder)
        if (cache_dir("winogender") / FILES[0]).is_file():
            return str(cache_dir("winogender"))
        return (f"download {REMOTE}" if hub_allowed()
                else "offline: set $MULTIBERTS_STATS_DATA or data_dir")

    def _load(self, split, data_dir):
        folder, looked = self._folder(data_dir)
        if folder is None:
            folder = _download(looked)
        return load_winogender_files(folder)


def _download(looked) -> Path:
    hint = "winogender/{" + ",".join(FILES) + "}"
    for f in FILES:
        fetch_published_file(REMOTE + f, "winogender", f, looked, what="Winogender", folder_hint=hint)
    return cache_dir("winogender")


def _locate_pronoun(sentence: str, template: str, pronoun: str, sentid: str) -> tuple[int, int]:
    """Character span of the template's pronoun slot in the instantiated sentence."""
    m = _SLOT.search(template)
    prefix = template[: m.start()]
    # the pronoun word may occur before the slot only in the template's literal text
    k = len(re.findall(rf"\b{re.escape(pronoun)}\b", prefix, flags=re.IGNORECASE))
    hits = [h for h in re.finditer(rf"\b{re.escape(pronoun)}\b", sentence, flags=re.IGNORECASE)]
    if len(hits) <= k:
        raise TaskError(f"Winogender sentence {sentid!r}: the pronoun {pronoun!r} of its template "
                        f"({template!r}) is not in the sentence {sentence!r}.")
    return hits[k].start(), hits[k].end()


def load_winogender_files(folder) -> pd.DataFrame:
    """Read and join the three Winogender files of ``folder`` (see the module docstring)."""
    folder = Path(folder)
    sents = read_tsv(folder / "all_sentences.tsv")
    templ = read_tsv(folder / "templates.tsv")
    stats = read_tsv(folder / "occupations-stats.tsv")
    for df, path, cols in [(sents, "all_sentences.tsv", ["sentid", "sentence"]),
                           (templ, "templates.tsv", ["occupation(0)", "other-participant(1)", "answer", "sentence"]),
                           (stats, "occupations-stats.tsv", ["occupation", "bls_pct_female"])]:
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise TaskError(f"The Winogender file {folder / path} lacks the column(s) {missing}; the "
                            f"columns found are {[c for c in df.columns if c != '_line']}.")
        if len(df) == 0:
            raise TaskError(f"The Winogender file {folder / path} has no rows.")
    stats = stats.copy()
    stats["occupation"] = stats["occupation"].str.strip()
    dup = stats["occupation"][stats["occupation"].duplicated()]
    if len(dup):
        raise TaskError(f"{folder / 'occupations-stats.tsv'}: occupation(s) listed twice: {sorted(set(dup))}.")
    bls = dict(zip(stats["occupation"], pd.to_numeric(stats["bls_pct_female"], errors="coerce")))
    bad = [o for o, v in bls.items() if not np.isfinite(v)]
    if bad:
        raise TaskError(f"{folder / 'occupations-stats.tsv'}: bls_pct_female is not a number for {bad}.")
    berg = dict(zip(stats["occupation"], pd.to_numeric(stats.get("bergsma_pct_female", np.nan), errors="coerce")))
    year = dict(zip(stats["occupation"], stats.get("bls_year", "")))
    templates = {}
    cols = ["occupation(0)", "other-participant(1)", "answer", "sentence", "_line"]
    for occ, part, ans, text, ln in templ[cols].itertuples(index=False):
        if not _SLOT.search(text):
            raise TaskError(f"{folder / 'templates.tsv'}: line {ln}: no $NOM/ACC/POSS_PRONOUN slot in {text!r}.")
        templates[(occ.strip(), ans.strip())] = (part.strip(), text)
    rows = []
    for sentid, sentence, ln in sents[["sentid", "sentence", "_line"]].itertuples(index=False):
        parts = sentid.split(".")
        if len(parts) != 5 or parts[4] != "txt" or parts[2] not in ("0", "1") or parts[3] not in GENDER_TAGS:
            raise TaskError(f"{folder / 'all_sentences.tsv'}: line {ln}: the sentid {sentid!r} is not "
                            "of the form occupation.participant.answer.gender.txt with answer 0/1 and "
                            "gender female/male/neutral.")
        occ, part, ans, gender = parts[:4]
        if occ not in bls:
            raise TaskError(f"The Winogender occupation {occ!r} (line {ln} of "
                            f"{folder / 'all_sentences.tsv'}) is missing from the statistics file "
                            f"{folder / 'occupations-stats.tsv'}, which lists {len(bls)} occupations.")
        if (occ, ans) not in templates:
            raise TaskError(f"{folder / 'all_sentences.tsv'}: line {ln}: no template for occupation "
                            f"{occ!r} with answer {ans} in {folder / 'templates.tsv'}.")
        other, template = templates[(occ, ans)]
        case = _SLOT.search(template).group(1)
        pronoun = PRONOUNS[case][gender]
        start, end = _locate_pronoun(sentence, template, pronoun, sentid)
        rows.append({
            "example_id": sentid, "sentence": sentence, "label": int(ans),
            "occupation": occ, "participant": part, "other_participant": other,
            "someone": part == "someone", "answer": int(ans), "gender": gender,
            "gender_tag": GENDER_TAGS[gender], "pronoun": sentence[start:end],
            "pronoun_case": case, "pronoun_start": start, "pronoun_end": end,
            "template_id": f"{occ}.{ans}", "template": template,
            "bls_pct_female": float(bls[occ]), "bergsma_pct_female": float(berg[occ]),
            "bls_year": year[occ], "_line": ln,
        })
    df = pd.DataFrame(rows)
    df.attrs["source"] = str(folder / "all_sentences.tsv")
    return df


WINOGENDER = WinogenderTask(
    name="winogender", kind="winogender", text_fields=("sentence",),
    label_space=["occupation", "participant"],
    metrics=("accuracy", "winogender_bias_r", "winogender_bias_slope"), unit="occupation",
    splits=("test",), default_split="test", aliases=("winogender_schemas", "wino"),
    split_aliases={"validation": "test", "all": "test"},
    extra_columns=("occupation", "participant", "someone", "gender", "bls_pct_female",
                   "template_id", "pronoun_case"),
    description="Winogender schemas: zero-shot coreference & gender bias vs BLS % women")


# ---------------------------------------------------------------------------- scoring
def _referent(row, which: str) -> str:
    if which == "occupation":
        return f"the {row['occupation']}"
    return "someone" if row["participant"] == "someone" else f"the {row['participant']}"


def rewrite_sentence(row, which: str, method: str = "substitution", *, _span: bool = False):
    """The sentence with its pronoun resolved to ``which`` (``"occupation"`` or ``"participant"``).

    ``method="substitution"`` replaces the pronoun by the referent ("he" -> "the technician",
    "his" -> "the technician's"); the result no longer holds the pronoun, so male and female
    sentences give the same text and the same prediction. ``method="apposition"`` keeps the
    pronoun and names the referent beside it ("he, the technician," / "his (the technician's)"),
    so the model's gender associations can change the resolution.

    Examples
    --------
    >>> row = {"sentence": "The technician told someone that he could pay with cash.",
    ...        "pronoun_start": 33, "pronoun_end": 35, "pronoun_case": "NOM",
    ...        "occupation": "technician", "participant": "someone"}
    >>> rewrite_sentence(row, "participant")
    'The technician told someone that someone could pay with cash.'
    >>> rewrite_sentence(row, "occupation", method="apposition")
    'The technician told someone that he, the technician, could pay with cash.'
    """
    if which not in ("occupation", "participant"):
        raise ValueError(f"The `which` parameter must be 'occupation' or 'participant'. Got {which!r}.")
    s, a, b = row["sentence"], int(row["pronoun_start"]), int(row["pronoun_end"])
    ref = _referent(row, which)
    pron = s[a:b]
    poss = row["pronoun_case"] == "POSS"
    if method == "substitution":
        new = ref + "'s" if poss else ref
    elif method == "apposition":
        new = f"{pron} ({ref}'s)" if poss else f"{pron}, {ref},"
    else:
        raise ValueError(f"The `method` parameter must be 'substitution' or 'apposition'. Got {method!r}.")
    if a == 0:
        new = new[0].upper() + new[1:]
    if _span:
        return s[:a] + new + s[b:], (a, a + len(new))
    return s[:a] + new + s[b:]


def _torch():
    import torch

    return torch


def pseudo_log_likelihood(model, tokenizer, sentences, *, batch_size: int = 64,
                          max_length: int | None = None, progress: bool = False,
                          device=None, amp: str | None = None, keep_spans=None) -> np.ndarray:
    """Masked-LM pseudo-log-likelihood of each sentence (Salazar et al., 2020).

    Each token (not [CLS]/[SEP]) is masked in turn and the log-probability of the original token
    at that position is summed. All masked copies of all (distinct) sentences are sorted by
    length and run in batches with dynamic padding under ``torch.inference_mode``; only the
    masked positions go through the output layer.

    A sentence longer than the model's maximum length (``max_length``, default from the model
    and tokenizer) is cut with a warning: to its first sub-tokens, or, when ``keep_spans`` gives
    a ``(char_start, char_end)`` per sentence, to a window around that span (Winogender scoring
    passes the rewritten referent so that the two readings stay comparable).

    ``amp="bf16"`` (or ``"fp16"``) runs the encoder under ``torch.autocast`` (meant for GPUs;
    log-probabilities are still taken in float32). On the 2-core CPU of the benchmarks it was
    8x *slower* than float32 for a 4-layer model, so the default is None.

    Returns
    -------
    ndarray, shape (n_sentences,)

    Examples
    --------
    >>> pseudo_log_likelihood(model, tokenizer, ["the nurse said she was tired."])  # doctest: +SKIP
    array([-23.4])
    """
    sentences = list(sentences)
    if keep_spans is not None:
        keep_spans = list(keep_spans)
        if len(keep_spans) != len(sentences):
            raise ValueError(f"`keep_spans` must have one (start, end) per sentence. Got "
                             f"{len(keep_spans)} for {len(sentences)} sentences.")
        span_of = dict(zip(sentences, keep_spans))
    uniq = list(dict.fromkeys(sentences))
    L = _max_length(model, tokenizer, max_length)
    enc = tokenizer(uniq, add_special_tokens=True)["input_ids"]
    too_long = [i for i, ids in enumerate(enc) if len(ids) > L]
    if too_long:
        how = (f"a window of {L - 2} sub-tokens around the given span" if keep_spans is not None
               else f"the first {L - 2} sub-tokens")
        warnings.warn(f"{len(too_long)} of {len(uniq)} sentences are longer than the model's "
                      f"{L} tokens; their pseudo-log-likelihood covers {how} only, e.g. "
                      f"{uniq[too_long[0]]!r}.", DataWarning, stacklevel=2)
        for i in too_long:
            ids = enc[i]
            center = 1
            if keep_spans is not None:
                center = _token_at(tokenizer, uniq[i], span_of[uniq[i]], ids)
                center = min(max(center, 1), len(ids) - 2)
                enc[i] = _window(ids, center, L, ids[0], ids[-1])[0]
            else:
                enc[i] = ids[: L - 1] + ids[-1:]
    special = set(tokenizer.all_special_ids)
    jobs = []  # (sentence index, position)
    for si, ids in enumerate(enc):
        for pos, tok in enumerate(ids):
            if tok not in special:
                jobs.append((si, pos))
    jobs.sort(key=lambda j: len(enc[j[0]]))
    scores = np.zeros(len(uniq))
    logp = _masked_logprobs(model, tokenizer, [(enc[si], [pos], [enc[si][pos]]) for si, pos in jobs],
                            batch_size=batch_size, progress=progress, device=device,
                            desc="pseudo-log-likelihood", amp=amp)
    for (si, pos), lp in zip(jobs, logp):
        scores[si] += float(lp[0, 0])
    index = {s: i for i, s in enumerate(uniq)}
    return np.array([scores[index[s]] for s in sentences])


def _masked_logprobs(model, tokenizer, items, *, batch_size, progress, device, desc,
                     target_ids=None, amp=None):
    """Masked-LM log-probabilities at masked positions, batched.

    ``items``: list of ``(ids, positions, targets)``. Each item's ``positions`` are replaced by
    the mask token in one copy; the result for the item is an array of shape
    ``(len(positions), k)``: the log-probability of ``targets[j]`` (one id per position, k = 1)
    or, when ``target_ids`` is given, of each of those ids (k = len(target_ids)). Only these
    numbers leave the device: memory is O(items), not O(items x vocabulary). Items should be
    sorted by length by the caller (any order gives the same numbers).
    """
    torch = _torch()
    import contextlib

    from multiberts_stats._progress import tqdm

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"The `batch_size` parameter must be a positive integer. Got {batch_size!r} instead.")
    if amp not in (None, "bf16", "fp16"):
        raise ValueError(f"The `amp` parameter must be None, 'bf16' or 'fp16'. Got {amp!r} instead.")
    batch_size = int(batch_size)
    mask_id = tokenizer.mask_token_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if device is None:
        device = next(model.parameters()).device
    dev_type = torch.device(device).type
    cast = (torch.autocast(dev_type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
            if amp else contextlib.nullcontext())
    fixed = None if target_ids is None else torch.tensor(list(target_ids), device=device)
    was_training = model.training
    model.eval()
    out = []
    bar = tqdm(total=len(items), desc=desc, disable=not progress, leave=False)
    try:
        with torch.inference_mode(), cast:
            for b0 in range(0, len(items), batch_size):
                chunk = items[b0:b0 + batch_size]
                L = max(len(it[0]) for it in chunk)
                inp = torch.full((len(chunk), L), pad_id, dtype=torch.long)
                att = torch.zeros((len(chunk), L), dtype=torch.long)
                rows, cols, tgts = [], [], []
                for r, (ids, positions, targets) in enumerate(chunk):
                    inp[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                    att[r, : len(ids)] = 1
                    for j, p in enumerate(positions):
                        inp[r, p] = mask_id
                        rows.append(r)
                        cols.append(p)
                        if fixed is None:
                            tgts.append(targets[j])
                inp, att = inp.to(device), att.to(device)
                hidden = _encoder_hidden(model, inp, att)
                sel = hidden[torch.tensor(rows, device=device), torch.tensor(cols, device=device)]
                logits = _mlm_head(model, sel).float()
                norm = torch.logsumexp(logits, dim=-1, keepdim=True)
                if fixed is None:
                    t = torch.tensor(tgts, device=device).unsqueeze(1)
                    lp = logits.gather(1, t) - norm
                else:
                    lp = logits[:, fixed] - norm
                lp = lp.cpu().numpy()
                k = 0
                for it in chunk:
                    out.append(lp[k:k + len(it[1])])
                    k += len(it[1])
                bar.update(len(chunk))
    finally:
        bar.close()
        if was_training:
            model.train()
    return out


def _max_length(model, tokenizer, max_length):
    """Longest input the model takes: ``max_length``, else the smaller of the model's position
    table and a sensible tokenizer ``model_max_length``."""
    if max_length is not None:
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 3:
            raise ValueError(f"The `max_length` parameter must be an integer >= 3. Got {max_length!r} instead.")
        return int(max_length)
    cands = []
    cfg = getattr(model, "config", None)
    mpe = getattr(cfg, "max_position_embeddings", None)
    if isinstance(mpe, int) and mpe > 0:
        # RoBERTa-style position ids start after the padding index
        offset = (getattr(cfg, "pad_token_id", 0) or 0) + 1 if getattr(cfg, "model_type", "") in (
            "roberta", "xlm-roberta", "camembert") else 0
        cands.append(mpe - offset)
    tm = getattr(tokenizer, "model_max_length", None)
    if isinstance(tm, int) and 0 < tm <= 100_000:
        cands.append(tm)
    return min(cands) if cands else 512


def _token_at(tokenizer, text, span, ids) -> int:
    """Index in ``ids`` of the token at the middle of the character span (1 if unknown)."""
    a, b = span
    mid = (a + b) // 2
    try:
        enc = tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
        offs = enc["offset_mapping"]
    except Exception:  # noqa: BLE001 - slow tokenizers have no offsets: count prefix tokens
        return len(tokenizer(text[:a], add_special_tokens=False)["input_ids"]) + 1
    best = 1
    for k, (s0, s1) in enumerate(offs):
        if s1 > s0 and s0 <= mid:
            best = k
    return best


def _window(ids, center, L, cls_id, sep_id):
    """Cut ``[CLS] ... [SEP]`` ids to at most L tokens, keeping position ``center`` inside."""
    if len(ids) <= L:
        return ids, center
    body = ids[1:-1]
    c = center - 1
    keep = L - 2
    start = min(max(0, c - keep // 2), len(body) - keep)
    return [ids[0], *body[start:start + keep], ids[-1]], c - start + 1


def _encoder_hidden(model, input_ids, attention_mask):
    """Last hidden states of a masked LM's encoder (without running the LM head on every position)."""
    base = getattr(model, "base_model", None)
    if base is not None and base is not model:
        return base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return model(input_ids=input_ids, attention_mask=attention_mask,
                 output_hidden_states=True).hidden_states[-1]


def _mlm_head(model, hidden):
    """Apply the masked-LM head to selected hidden states (B, H) -> logits (B, V)."""
    head = getattr(model, "cls", None)  # BertForMaskedLM / BertForPreTraining
    if head is not None:
        pred = getattr(head, "predictions", None)
        if pred is not None:
            return pred(hidden)
    out = model.get_output_embeddings()
    for name in ("lm_head",):  # RoBERTa-style heads include the transform
        h = getattr(model, name, None)
        if h is not None:
            return h(hidden)
    if out is None:
        raise TypeError(f"{type(model).__name__} has no masked-LM head; load the checkpoint with "
                        "AutoModelForMaskedLM (or BertForPreTraining).")
    return out(hidden)


def pronoun_probabilities(model, tokenizer, examples, *, batch_size: int = 64, progress=False,
                          device=None, amp: str | None = None,
                          max_length: int | None = None) -> pd.DataFrame:
    """Mask the pronoun slot and read P(female), P(male), P(neutral) pronoun of the slot's case.

    ``examples`` is a Winogender frame (``sentence``, ``pronoun_start``, ``pronoun_end``,
    ``pronoun_case``). A pronoun that is not a single token of the vocabulary (a reduced test
    vocabulary) gets NaN, with a warning. Probabilities are
    over the whole vocabulary (they need not sum to 1); for POSS, female is "her". A sentence
    longer than the model's maximum length is cut to a window around the pronoun.

    Returns
    -------
    DataFrame with ``example_id``, ``p_female``, ``p_male``, ``p_neutral``.
    """
    ex = pd.DataFrame(examples)
    vocab = tokenizer.get_vocab()
    L = _max_length(model, tokenizer, max_length)
    items, keys = [], []
    for row in ex.itertuples(index=False):
        masked = row.sentence[: row.pronoun_start] + tokenizer.mask_token + row.sentence[row.pronoun_end:]
        ids = tokenizer(masked, add_special_tokens=True)["input_ids"]
        positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
        if len(positions) != 1:
            raise TaskError(f"Winogender sentence {row.example_id!r}: expected one mask, found "
                            f"{len(positions)} in {masked!r}.")
        ids, p = _window(ids, positions[0], L, ids[0], ids[-1])
        items.append((ids, [p], None))
        keys.append(row.pronoun_case)
    targets, missing = [], []
    for case in ("NOM", "ACC", "POSS"):
        for g in ("female", "male", "neutral"):
            w = PRONOUNS[case][g]
            if w not in vocab:
                missing.append(w)
            targets.append(vocab.get(w, tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0))
    if missing:
        warnings.warn(f"The pronoun(s) {sorted(set(missing))} are not single tokens of the tokenizer's "
                      "vocabulary; their probabilities are NaN.", DataWarning, stacklevel=2)
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
    lp = _masked_logprobs(model, tokenizer, [items[i] for i in order], batch_size=batch_size,
                          progress=progress, device=device, desc="pronoun probabilities",
                          target_ids=targets, amp=amp)
    probs = np.zeros((len(items), 3))
    col = {"NOM": 0, "ACC": 3, "POSS": 6}
    for i, row_lp in zip(order, lp):
        c = col[keys[i]]
        probs[i] = np.exp(row_lp[0, c:c + 3])
    for j, (case, g) in enumerate((c, g) for c in ("NOM", "ACC", "POSS")
                                  for g in ("female", "male", "neutral")):
        if PRONOUNS[case][g] in missing:
            rows = np.array([k == case for k in keys])
            probs[rows, j % 3] = np.nan
    return pd.DataFrame({"example_id": ex["example_id"].astype(str).values, "p_female": probs[:, 0],
                         "p_male": probs[:, 1], "p_neutral": probs[:, 2]})


def score_winogender(model, tokenizer, examples=None, *, method: str = "apposition",
                     batch_size: int = 64, progress: bool = True, pronouns: bool = True,
                     device=None, amp: str | None = None, quiet: bool = False,
                     max_length: int | None = None) -> pd.DataFrame:
    """Zero-shot Winogender with a masked LM: resolve each pronoun, read pronoun preferences.

    For each sentence, two rewrites (:func:`rewrite_sentence`) name the occupation or the other
    participant as the pronoun's referent; the one with the higher masked-LM
    pseudo-log-likelihood wins: ``prediction`` 0 = occupation, 1 = participant. ``score`` is the
    two-way softmax probability of the participant reading,
    ``sigmoid(pll_participant - pll_occupation)``.

    Parameters
    ----------
    model : transformers masked LM (``BertForMaskedLM``, ``BertForPreTraining``, ...)
    tokenizer : the matching tokenizer
    examples : DataFrame, optional
        Rows of ``get_task("winogender").load()`` (default: load them).
    method : {"apposition", "substitution"}
        ``"substitution"`` replaces the pronoun by the referent (classic Trinh & Le style): its
        predictions cannot depend on the pronoun's gender, so the bias measure is 0 by
        construction. ``"apposition"`` (default) keeps the pronoun beside the referent, so the
        gender of the pronoun can move the decision.
    batch_size : int
        Masked copies per forward pass.
    pronouns : bool
        Also mask the pronoun slot and return ``p_female``, ``p_male``, ``p_neutral``.
    device : torch device, optional
        Default: the model's.
    amp : {None, "bf16", "fp16"}
        Mixed precision for the encoder (see :func:`pseudo_log_likelihood`).
    max_length : int, optional
        Longest input in sub-tokens (default: the model's position table / the tokenizer's
        limit); longer rewrites are cut with a warning.
    progress, quiet : bool
        A tqdm bar on stderr is shown when ``progress`` and not ``quiet``.

    Returns
    -------
    DataFrame
        ``example_id``, ``prediction``, ``score``, ``pll_occupation``, ``pll_participant``,
        ``p_female``, ``p_male``, ``p_neutral`` (NaN when ``pronouns=False``), in the order of
        ``examples``.

    Examples
    --------
    >>> from multiberts_stats.tasks import get_task, score_winogender
    >>> task = get_task("winogender"); ex = task.load()  # doctest: +SKIP
    >>> out = score_winogender(model, tokenizer, ex)  # doctest: +SKIP
    >>> task.evaluate(ex.merge(out[["example_id", "prediction"]], on="example_id"))  # doctest: +SKIP
    """
    if examples is None:
        examples = WINOGENDER.load()
    ex = pd.DataFrame(examples)
    need = ["example_id", "sentence", "pronoun_start", "pronoun_end", "pronoun_case", "occupation",
            "participant"]
    missing = [c for c in need if c not in ex.columns]
    if missing:
        raise TaskError(f"The `examples` of score_winogender lack the column(s) {missing}; the "
                        f"columns found are {list(ex.columns)}. Pass rows of get_task('winogender').load().")
    if method not in ("apposition", "substitution"):
        raise ValueError(f"The `method` parameter of score_winogender must be 'apposition' or "
                         f"'substitution'. Got {method!r} instead.")
    progress = bool(progress) and not quiet
    rows = ex.to_dict("records")
    occ = [rewrite_sentence(r, "occupation", method, _span=True) for r in rows]
    par = [rewrite_sentence(r, "participant", method, _span=True) for r in rows]
    both = occ + par
    pll = pseudo_log_likelihood(model, tokenizer, [t for t, _ in both], batch_size=batch_size,
                                progress=progress, device=device, amp=amp, max_length=max_length,
                                keep_spans=[sp for _, sp in both])
    n = len(rows)
    p_occ, p_par = pll[:n], pll[n:]
    diff = p_par - p_occ
    out = pd.DataFrame({
        "example_id": ex["example_id"].astype(str).values,
        "prediction": (diff > 0).astype(np.int64),
        "score": 1.0 / (1.0 + np.exp(-np.clip(diff, -700, 700))),
        "pll_occupation": p_occ, "pll_participant": p_par,
    })
    if pronouns:
        pp = pronoun_probabilities(model, tokenizer, ex, batch_size=batch_size, progress=progress,
                                   device=device, amp=amp, max_length=max_length)
        for c in ("p_female", "p_male", "p_neutral"):
            out[c] = pp[c].values
    else:
        for c in ("p_female", "p_male", "p_neutral"):
            out[c] = np.nan
    return out


def masked_token_logprobs(model, tokenizer, ids_list, positions_list, *, batch_size: int = 64,
                          device=None, progress: bool = False, amp: str | None = None,
                          desc: str = "masked log-probabilities") -> list:
    """Log-probability of each given token of each sequence, that token alone masked.

    The machinery of :func:`pseudo_log_likelihood` for callers that choose the positions
    (CrowS-Pairs scores only the tokens two sentences share): for sequence ``i`` (token ids
    with special tokens) and each position ``p`` in ``positions_list[i]``, one copy with ``p``
    masked; all copies are sorted by length and batched; only masked positions go through the
    output layer.

    Returns
    -------
    list of ndarray
        One array per sequence, ``len(positions_list[i])`` log-probabilities in that order.
    """
    ids_list = [list(map(int, ids)) for ids in ids_list]
    positions_list = [list(map(int, p)) for p in positions_list]
    if len(ids_list) != len(positions_list):
        raise ValueError(f"`positions_list` must have one list of positions per sequence. Got "
                         f"{len(positions_list)} for {len(ids_list)} sequences.")
    L = _max_length(model, tokenizer, None)
    for ids, pos in zip(ids_list, positions_list):
        if len(ids) > L:
            raise ValueError(f"A sequence of {len(ids)} tokens is longer than the model's {L} "
                             "positions; masked_token_logprobs does not cut sequences.")
        bad = [p for p in pos if not 0 <= p < len(ids)]
        if bad:
            raise ValueError(f"Positions {bad[:5]} lie outside a sequence of {len(ids)} tokens.")
    jobs = [(i, j) for i, pos in enumerate(positions_list) for j in range(len(pos))]
    jobs.sort(key=lambda t: len(ids_list[t[0]]))
    items = [(ids_list[i], [positions_list[i][j]], [ids_list[i][positions_list[i][j]]])
             for i, j in jobs]
    out = [np.zeros(len(p)) for p in positions_list]
    if not items:
        return out
    logp = _masked_logprobs(model, tokenizer, items, batch_size=batch_size, progress=progress,
                            device=device, desc=desc, amp=amp)
    for (i, j), lp in zip(jobs, logp):
        out[i][j] = float(lp[0, 0])
    return out
