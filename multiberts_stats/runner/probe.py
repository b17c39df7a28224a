"""Probing frozen layers: one forward pass per checkpoint x task x split, a probe per layer.

Features of every layer come from :func:`~multiberts_stats.runner.features.extract_features`
and are cached on disk (``STORE/_features``) per checkpoint x task x split x pooling x
precision, so further probes (other seeds, other regularisation grids) reuse them.  Each layer
gets a scikit-learn logistic regression on standardised features (ridge regression for
regression tasks) whose regularisation is chosen by cross-validation on the training data only;
the probe seed fixes the folds.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import warnings

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataWarning

from .features import (
    cache_key,
    cached_features,
    extract_features,
    extract_word_features,
)
from .loading import load_model, resolve_task
from .rows import base_rows, train_eval_frames
from .settings import check_positive_int, parse_seeds, setting_error

__all__ = ["fit_probe", "run", "validate", "grid", "DEFAULTS"]

logger = logging.getLogger(__name__)

#: every setting of ``[methods.probe]`` and its default (the one place they are defined)
DEFAULTS = {"layers": "all", "pooling": "mean", "C": [0.001, 0.01, 0.1, 1.0], "folds": 3,
            "max_train": 4000, "max_eval": None, "batch_size": 32, "max_length": 128,
            "max_iter": 1000, "seeds": None, "train_split": None, "eval_split": None,
            "word_pooling": "first"}


def validate(s: dict, where: str = "methods.probe") -> dict:
    """Check complete probe settings (defaults merged in); returns them normalised."""
    s = dict(s)
    if s["seeds"] is not None:
        s["seeds"] = parse_seeds(s["seeds"], f"{where}.seeds")
    check_positive_int(f"{where}.batch_size", s["batch_size"])
    if s["word_pooling"] not in ("first", "mean"):
        raise setting_error(f"{where}.word_pooling", "must be 'first' or 'mean'", s["word_pooling"])
    if s["pooling"] not in ("cls", "mean", "last"):
        raise setting_error(f"{where}.pooling", "must be 'cls', 'mean' or 'last' (decoders: the "
                            "last token)", s["pooling"])
    if s["layers"] != "all":
        if not isinstance(s["layers"], list) or not s["layers"] or any(
                isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in s["layers"]):
            raise setting_error(f"{where}.layers", "must be 'all' or a non-empty list of layer "
                                "indices >= 0", s["layers"])
    C = s["C"] if isinstance(s["C"], list) else [s["C"]]
    if not C or any(isinstance(c, bool) or not isinstance(c, (int, float)) or c <= 0 for c in C):
        raise setting_error(f"{where}.C", "must be a positive number or a non-empty list of them", s["C"])
    s["C"] = [float(c) for c in C]
    if isinstance(s["folds"], bool) or not isinstance(s["folds"], int) or s["folds"] < 2:
        raise setting_error(f"{where}.folds", "must be an integer >= 2", s["folds"])
    check_positive_int(f"{where}.max_train", s["max_train"], allow_none=True)
    check_positive_int(f"{where}.max_eval", s["max_eval"], allow_none=True)
    check_positive_int(f"{where}.max_length", s["max_length"])
    check_positive_int(f"{where}.max_iter", s["max_iter"])
    return s


def grid(s: dict) -> tuple[list[dict], dict]:
    """The probe's one grid point (what goes in the ``hparams`` column) and its settings."""
    return [{"pooling": s["pooling"], "C": s["C"], "max_train": s["max_train"]}], dict(s)


def fit_probe(X_train, y_train, X_eval, *, C=(0.001, 0.01, 0.1, 1.0), folds: int = 3, seed: int = 0,
              regression: bool = False, max_iter: int = 1000):
    """Fit one probe and predict.

    Standardises with the training statistics, chooses the regularisation strength among ``C``
    by ``folds``-fold cross-validation on the training data (stratified, shuffled with
    ``seed``), refits on all training data.

    Returns
    -------
    prediction : ndarray (n_eval,)
    score : ndarray (n_eval,) — probability of class 1 for binary tasks, the value for
        regression, NaN for more than two classes
    chosen : float — the chosen C

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5)); y = (X[:, 0] > 0).astype(float)
    >>> pred, score, C = fit_probe(X[:150], y[:150], X[150:], seed=0)
    >>> float((pred == y[150:]).mean()) > 0.9
    True
    """
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    X_train = np.asarray(X_train, dtype=np.float64)
    X_eval = np.asarray(X_eval, dtype=np.float64)
    y_train = np.asarray(y_train)
    scaler = StandardScaler().fit(X_train)
    Xt, Xe = scaler.transform(X_train), scaler.transform(X_eval)
    Cs = [float(c) for c in np.atleast_1d(C)]
    if regression:
        cv = KFold(folds, shuffle=True, random_state=seed)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            model = RidgeCV(alphas=[1.0 / (2 * c) for c in Cs], cv=cv).fit(Xt, y_train.astype(float))
        pred = model.predict(Xe)
        return pred, pred.copy(), float(1.0 / (2 * model.alpha_))
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise ValueError(f"A probe needs at least two classes in the training labels. Got only "
                         f"{classes.tolist()}.")
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    model = LogisticRegressionCV(Cs=Cs, cv=cv, max_iter=max_iter, random_state=seed,
                                 scoring="accuracy")
    import warnings

    from threadpoolctl import threadpool_limits

    # lbfgs on a few thousand rows is memory-bound: extra BLAS threads only add contention
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")  # convergence chatter on weak layers
        model.fit(Xt, y_train)
    proba = model.predict_proba(Xe)
    pred = model.classes_[proba.argmax(1)].astype(float)
    if len(model.classes_) == 2 and 1 in set(model.classes_.tolist()):
        score = proba[:, list(model.classes_).index(1)]
    else:
        score = np.full(len(Xe), np.nan)
    return pred, score, float(np.ravel(model.C_)[0])


def _token_max_length(model, tokenizer, setting: int) -> int:
    """The sub-token budget of a token probe: at least 256 (sentences of a treebank run long) or
    the `max_length` setting, but never beyond the model's position table or its tokenizer's
    limit (a model with 128 positions gets 128)."""
    cfg = getattr(model, "config", None)
    limits = [int(x) for x in (getattr(cfg, "max_position_embeddings", None),
                               getattr(tokenizer, "model_max_length", None))
              if isinstance(x, int) and 0 < x <= 100_000]
    return min([max(int(setting), 256), *limits])


def _ids_hash(ids) -> str:
    return hashlib.sha256("\x1f".join(map(str, ids)).encode()).hexdigest()[:16]


def _layers(s, n_layers, job):
    layers = range(n_layers) if s["layers"] == "all" else s["layers"]
    bad = [x for x in layers if not 0 <= int(x) < n_layers]
    if bad:
        raise ValueError(f"The `layers` setting of the probe must hold layers in 0..{n_layers - 1} "
                         f"for {job.checkpoint.name}. Got {bad} instead.")
    return list(layers)


def run(job, ctx):
    """Run one probe job: rows for every probed layer and provenance extras.

    Sentence tasks: one feature vector per example ([CLS] or mean pooling).  Token tasks (POS):
    one per word (its first sub-token, or the mean of its sub-tokens with
    ``word_pooling="mean"``), ``max_train`` counting sentences, one row per word with
    ``example_id = <sentence id>:<word index>`` and ``cluster`` = the sentence.  When the
    training and evaluation splits are the same split, the probe trains on a fixed half of its
    examples and is evaluated on the other half.
    """
    s = job.settings
    store, quiet = ctx.store, ctx.quiet
    task = resolve_task(job.task)
    if task.level == "token":
        return _run_token_probe(job, task, s, ctx)
    if task.level != "sentence":
        raise ValueError(f"Probing needs a sentence- or token-level task; {task.name!r} is "
                         f"{task.level!r} (score it with the zeroshot method).")
    train_df, eval_df = train_eval_frames(job, task, s["max_train"], s["max_eval"])
    state = {"model": None}

    def model():
        if state["model"] is None:
            state["model"] = load_model(job.checkpoint, "encoder", device=job.device,
                                        auto_threads=not ctx.fixed_threads)
        return state["model"]

    def feats(df, split):
        key = cache_key(ckpt=job.checkpoint.identity(), task=job.task_name,
                        spec=repr(job.task), split=split, ids=_ids_hash(df["example_id"]),
                        pooling=s["pooling"], max_length=s["max_length"], dtype=job.dtype,
                        level=task.level, text=task.text_fields)

        def compute():
            m, tok = model()
            cols = task.text_fields
            return extract_features(m, tok, df[cols[0]].tolist(),
                                    df[cols[1]].tolist() if len(cols) > 1 else None,
                                    pooling=s["pooling"], batch_size=s["batch_size"],
                                    max_length=s["max_length"], device=job.device, dtype=job.dtype,
                                    quiet=quiet, desc=f"features {split}")
        return cached_features(store.features_dir, key, compute)

    try:
        Ftr, hit_tr = feats(train_df, job.train_split)
        Fev, hit_ev = feats(eval_df, job.eval_split)
    finally:
        state["model"] = None
        gc.collect()
    layers = _layers(s, Ftr.shape[0], job)
    regression = task.label_space is None
    frames, chosen = [], {}
    from multiberts_stats._progress import tqdm

    for layer in tqdm(list(layers), desc="probe layers", disable=quiet, leave=False):
        pred, score, C = fit_probe(Ftr[int(layer)], train_df["label"].to_numpy(), Fev[int(layer)],
                                   C=s["C"], folds=s["folds"], seed=job.seed, regression=regression,
                                   max_iter=s["max_iter"])
        rows = base_rows(job, eval_df, layer=int(layer))
        rows["prediction"] = pred
        rows["score"] = score
        frames.append(rows)
        chosen[int(layer)] = C
    return pd.concat(frames, ignore_index=True), {"chosen_C": chosen, "n_train": len(train_df),
                                                  "features_cached": bool(hit_tr and hit_ev)}


def _run_token_probe(job, task, s, ctx):
    from multiberts_stats.store import canonical_json

    store, quiet = ctx.store, ctx.quiet
    train_df, eval_df = train_eval_frames(job, task, s["max_train"], s["max_eval"])
    words_col = task.text_fields[0]
    agg = s.get("word_pooling", "first")
    state = {"model": None}

    def feats(df, split):
        key = cache_key(ckpt=job.checkpoint.identity(), task=job.task_name,
                        spec=repr(job.task), split=split, ids=_ids_hash(df["example_id"]),
                        word_pooling=agg, max_length=s["max_length"], dtype=job.dtype, level="token")

        def compute():
            if state["model"] is None:
                state["model"] = load_model(job.checkpoint, "encoder", device=job.device,
                                            auto_threads=not ctx.fixed_threads)
            m, tok = state["model"]
            return extract_word_features(m, tok, df[words_col].tolist(), batch_size=s["batch_size"],
                                         max_length=_token_max_length(m, tok, s["max_length"]),
                                         device=job.device, dtype=job.dtype, quiet=quiet,
                                         aggregate=agg, desc=f"word features {split}")[0]
        return cached_features(store.features_dir, key, compute)

    try:
        (Ftr, hit_tr), (Fev, hit_ev) = feats(train_df, job.train_split), feats(eval_df, job.eval_split)
    finally:
        state["model"] = None
        gc.collect()

    def words(df):
        sid = np.repeat(df["example_id"].astype(str).to_numpy(), df[words_col].map(len).to_numpy())
        idx = np.concatenate([np.arange(len(w)) for w in df[words_col]]) if len(df) else np.array([], int)
        lab = np.concatenate([np.asarray(x, dtype=float) for x in df["label"]]) if len(df) else np.array([])
        return sid, idx, lab

    _, _, ytr = words(train_df)
    sid, widx, yev = words(eval_df)
    ok_tr = ~np.isnan(Ftr[0]).any(1)
    ok_ev = ~np.isnan(Fev[0]).any(1)
    for split, ok, df in ((job.train_split, ok_tr, train_df), (job.eval_split, ok_ev, eval_df)):
        if not ok.all():
            sent = np.repeat(np.arange(len(df)), df[words_col].map(len).to_numpy())
            cut = np.unique(sent[~ok])
            msg = (f"{int((~ok).sum())} of {len(ok)} words of the {split!r} split ({len(cut)} "
                   f"sentence(s), e.g. {df['example_id'].iloc[int(cut[0])]!r}) fall past the longest "
                   f"input {job.checkpoint.name} takes and are left out of the probe")
            warnings.warn(msg, DataWarning, stacklevel=2)
            logger.warning("%s: %s", job.label(), msg)
    layers = _layers(s, Ftr.shape[0], job)
    c = job.checkpoint
    n = int(ok_ev.sum())
    base = pd.DataFrame({
        "family": [str(c.family)] * n, "checkpoint": [str(c.name)] * n,
        "revision": [str(c.revision or "")] * n, "pretrain_seed": np.full(n, int(c.seed), dtype=np.int64),
        "step": np.full(n, int(c.step), dtype=np.int64), "task": [job.task_name] * n,
        "split": [job.eval_split] * n, "method": [job.method] * n,
        "finetune_seed": np.full(n, int(job.seed), dtype=np.int64),
        "hparams": [canonical_json(job.hparams)] * n,
        "example_id": [f"{a}:{b}" for a, b in zip(sid[ok_ev], widx[ok_ev])],
        "label": yev[ok_ev], "cluster": sid[ok_ev]})
    frames, chosen = [], {}
    from multiberts_stats._progress import tqdm

    for layer in tqdm(list(layers), desc="probe layers", disable=quiet, leave=False):
        pred, score, C = fit_probe(Ftr[int(layer)][ok_tr], ytr[ok_tr], Fev[int(layer)][ok_ev],
                                   C=s["C"], folds=s["folds"], seed=job.seed, max_iter=s["max_iter"])
        rows = base.copy()
        rows.insert(7, "layer", pd.array([int(layer)] * n, dtype="Int64"))
        rows["prediction"] = pred
        rows["score"] = score
        frames.append(rows)
        chosen[int(layer)] = C
    return pd.concat(frames, ignore_index=True), {
        "chosen_C": chosen, "n_train_sentences": len(train_df), "n_train_words": int(ok_tr.sum()),
        "truncated_words_train": int((~ok_tr).sum()), "truncated_words_eval": int((~ok_ev).sum()),
        "features_cached": bool(hit_tr and hit_ev)}
