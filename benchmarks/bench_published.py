"""Speed of scoring published SQuAD 2.0 prediction files (official EM / F1 per question).

The published release has 130 runs x 11,873 dev questions. Baseline: the official
evaluate-v2.0 ``get_raw_scores`` code path (character-by-character punctuation removal, every
gold answer normalised for every prediction file), written out below; ours: the gold side
normalised once per dataset and ``str.translate`` for punctuation (``SquadScorer``, tested equal
to the official definitions).
Prints a table and the ratio; runs both in this process.

    PYTHONPATH=. python benchmarks/bench_published.py [--questions 11873] [--runs 3]
"""

from __future__ import annotations

import argparse
import collections
import re
import string
import time

import numpy as np

from multiberts_stats.published import SquadScorer

WORDS = ('the', 'a', 'an', 'river', 'castle', 'Norman', 'empire', 'physics', 'protein', 'orbit',
         'harvest', 'melody', 'cipher', 'granite', 'lantern', 'summit', 'voyage', 'archive',
         'falcon', 'meadow', 'quartz', 'ember', 'tundra', '1066', '10th')


def _official_normalize(s):
    exclude = set(string.punctuation)
    s = s.lower()
    s = "".join(ch for ch in s if ch not in exclude)
    s = re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", s)
    return " ".join(s.split())


def _official_tokens(s):
    return _official_normalize(s).split() if s else []


def _official_f1(gold, pred):
    g, p = _official_tokens(gold), _official_tokens(pred)
    common = collections.Counter(g) & collections.Counter(p)
    same = sum(common.values())
    if len(g) == 0 or len(p) == 0:
        return int(g == p)
    if same == 0:
        return 0
    precision, recall = 1.0 * same / len(p), 1.0 * same / len(g)
    return (2 * precision * recall) / (precision + recall)


def official_raw_scores(dataset, preds):
    exact, f1 = {}, {}
    for article in dataset:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                gold = [a["text"] for a in qa["answers"] if _official_normalize(a["text"])] or [""]
                pred = preds[qa["id"]]
                exact[qa["id"]] = max(int(_official_normalize(a) == _official_normalize(pred))
                                      for a in gold)
                f1[qa["id"]] = max(_official_f1(a, pred) for a in gold)
    return exact, f1


def make(n_q: int, n_runs: int, seed: int = 0):
    gen = np.random.default_rng(seed)
    qas = []
    for i in range(n_q):
        if i % 3 == 2:
            qas.append({"id": f"q{i}", "answers": []})
        else:
            qas.append({"id": f"q{i}", "answers": [
                {"text": " ".join(gen.choice(WORDS, size=gen.integers(1, 5)))}
                for _ in range(gen.integers(1, 4))]})
    data = [{"paragraphs": [{"qas": qas}]}]
    runs = [{q["id"]: " ".join(gen.choice(WORDS, size=gen.integers(0, 6))) for q in qas}
            for _ in range(n_runs)]
    return data, runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=11873)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    data, runs = make(args.questions, args.runs)

    t0 = time.perf_counter()
    base = [official_raw_scores(data, r) for r in runs]
    t_base = (time.perf_counter() - t0) / args.runs

    t0 = time.perf_counter()
    scorer = SquadScorer(data)
    t_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = [scorer.score(r) for r in runs]
    t_ours = (time.perf_counter() - t0) / args.runs

    for (em, f1), (cem, cf1) in zip(base, ours):
        assert np.array_equal(cem, list(em.values())) and np.array_equal(cf1, list(f1.values()))
    n_pub = 130
    print(f"SQuAD 2.0 scoring, {args.questions} questions, mean of {args.runs} prediction files")
    print(f"{'method':<38}{'s / file':>10}{'130 files (s)':>15}")
    print(f"{'official evaluate-v2.0 code per file':<38}{t_base:>10.3f}{t_base * n_pub:>15.1f}")
    print(f"{'gold normalised once (setup)':<38}{t_setup:>10.3f}{'':>15}")
    print(f"{'gold normalised once (per file)':<38}{t_ours:>10.3f}{t_setup + t_ours * n_pub:>15.1f}")
    print(f"ratio (baseline / ours, 130 files): "
          f"{t_base * n_pub / (t_setup + t_ours * n_pub):.2f}x")


def bench_bias(nboot: int = 30):
    """Winogender bias r, base vs CDA intervention at the published size (125 + 125 runs),
    through the engine's reference-compatible multibootstrap: the notebook's score_fn
    (``scipy.stats.linregress(...).rvalue``) vs ours (the same formula in numpy)."""
    import tempfile

    from scipy.stats import linregress

    from multiberts_stats import published as P
    from multiberts_stats.bootstrap import multibootstrap
    from multiberts_stats.published.reproduce import linregress_r
    from multiberts_stats.testing import write_example_release

    root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=25, n_finetune=5)
    res = P.reproduce_winogender(root / "coref", metrics="bias_r", nboot=2, quiet=True)
    run_info, bias, pf = res.inputs["bias_r"]
    times = {}
    for name, fn in (("scipy linregress (notebook)", lambda x, y: linregress(x, y).rvalue),
                     ("numpy moments (ours)", linregress_r)):
        t0 = time.perf_counter()
        draws = multibootstrap(run_info, bias, pf, fn, paired_seeds=True, nboot=nboot, rng=42,
                               verbose=False)
        times[name] = (time.perf_counter() - t0, np.asarray(draws))
    (a, da), (b, db) = times.values()
    assert np.allclose(da, db, rtol=1e-10)
    print(f"\nWinogender bias r, 250 runs x 60 occupations, nboot={nboot} (x{1000 // nboot} for 1000)")
    print(f"{'score_fn':<30}{'s':>8}{'1000 reps (s)':>15}")
    for name, (t, _) in times.items():
        print(f"{name:<30}{t:>8.2f}{t * 1000 / nboot:>15.0f}")
    print(f"ratio (notebook / ours): {a / b:.1f}x")


if __name__ == "__main__":
    main()
    bench_bias()
