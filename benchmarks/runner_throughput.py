"""Runner throughput: a probe over all 13 layers of a tiny family end to end, and fine-tuning steps/s.

Builds a tiny family (12 layers + embeddings = 13 probed layers, hidden 64, the real BERT
vocabulary) in a temporary folder, runs the probe experiment on SST-2 through
``run_experiment`` (in-process) and prints the time per job and its parts; then fine-tunes one
checkpoint through the runner (transformers Trainer) and, as the baseline, with a plain PyTorch
loop on the same batches, and prints both step rates.

    python benchmarks/runner_throughput.py [--seeds 3] [--max-train 1000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from multiberts_stats.tasks.base import data_env_value  # noqa: E402
DATA = Path(data_env_value() or ROOT.parent / "shared" / "data")  # $MULTIBERTS_STATS_DATA


def build_family(root: Path, seeds: int) -> Path:
    try:
        from multiberts_stats.testing import make_tiny_family
        make_tiny_family(root, DATA / "bert_vocab" / "vocab.txt", seeds=list(range(seeds)), steps=[2000],
                         num_hidden_layers=12, hidden_size=64)
        return root
    except (ImportError, TypeError):
        pass
    sys.path.insert(0, str(ROOT / "tests"))
    from test_runner_helpers import make_tiny_checkpoints

    make_tiny_checkpoints(root, DATA / "bert_vocab" / "vocab.txt", seeds=range(seeds), steps=(2000,),
                          num_hidden_layers=12, hidden_size=64, num_attention_heads=4, intermediate_size=256)
    return root


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--max-train", type=int, default=1000)
    p.add_argument("--max-eval", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--ft-train", type=int, default=512)
    a = p.parse_args(argv)
    import torch

    from multiberts_stats import read_predictions
    from multiberts_stats.runner import Experiment, run_experiment
    from multiberts_stats.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="mbs-bench-"))
    t0 = time.perf_counter()
    fam = build_family(tmp / "family", a.seeds)
    print(f"tiny family ({a.seeds} seeds, 12 layers, hidden 64) built in {time.perf_counter() - t0:.1f} s")
    g = DATA / "glue" / "SST-2"
    task = {"name": "sst2", "files": {"train": str(g / "train.tsv"), "validation": str(g / "dev.tsv")}}
    exp = Experiment.from_dict({"name": "bench", "store": str(tmp / "store"),
                                "checkpoints": {"family": "tiny", "root": str(fam)}, "tasks": [task],
                                "methods": {"probe": {"max_train": a.max_train, "max_eval": a.max_eval}}})
    s = run_experiment(exp, quiet=True, threads=a.threads)
    st = Store(tmp / "store")
    provs = [st.provenance(k) for k in st.done_keys()]
    df = read_predictions(tmp / "store")
    n_layers = df.layer.nunique()
    walls = [p["wall_time_s"] for p in provs]
    print(f"\nprobe, {len(provs)} jobs x {n_layers} layers, {a.max_train} train / "
          f"{df.example_id.nunique()} eval sentences: {s.wall_time:.1f} s end to end "
          f"(first job {max(walls):.1f} s incl. imports, median job {sorted(walls)[len(walls) // 2]:.1f} s, "
          f"{sum(walls) / (len(walls) * n_layers):.2f} s per layer)")
    acc = df.assign(ok=df.label == df.prediction).groupby("layer").ok.mean()
    print("mean accuracy per layer (random tiny weights, so near chance):",
          " ".join(f"{v:.2f}" for v in acc))
    # a second probe seed reuses the cached features
    exp.methods["probe"]["seeds"] = [0, 1]
    s2 = run_experiment(exp, quiet=True, threads=a.threads)
    print(f"second probe seed, features from the cache: {s2.done} jobs in {s2.wall_time:.1f} s")

    # fine-tuning step rate: runner (Trainer) vs a plain loop
    ckpt = sorted(p for p in fam.iterdir() if p.is_dir())[0]
    ft = Experiment.from_dict({"name": "bench-ft", "store": str(tmp / "ft"),
                               "checkpoints": [{"path": str(ckpt), "seed": 0, "step": 2000}], "tasks": [task],
                               "methods": {"finetune": {"max_train": a.ft_train, "max_eval": 64, "epochs": 1,
                                                        "batch_size": 32, "learning_rate": 1e-4}}})
    run_experiment(ft, quiet=True, threads=a.threads)
    st = Store(tmp / "ft")
    info = st.provenance(next(iter(st.done_keys())))["method_info"]
    trainer_rate = info["steps"] / info["train_runtime_s"]
    torch.set_num_threads(int(info["torch_threads"]))      # the same threads the runner's job used
    plain_rate = plain_loop_rate(ckpt, task, a.ft_train, 32)
    print(f"\nfine-tuning (batch 32, {a.ft_train} sentences, {torch.get_num_threads()} threads):")
    print(f"{'loop':<36}{'steps/s':>9}")
    print(f"{'runner (transformers Trainer)':<36}{trainer_rate:>9.2f}")
    print(f"{'plain PyTorch loop (baseline)':<36}{plain_rate:>9.2f}")
    print(f"ratio Trainer / plain: {trainer_rate / plain_rate:.2f}")
    return 0


def plain_loop_rate(ckpt, task, n, bs) -> float:
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, BertTokenizer
    from transformers.utils import logging as hf_logging

    from multiberts_stats.runner.rows import subsample

    hf_logging.set_verbosity_error()
    tok = BertTokenizer.from_pretrained(ckpt)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(ckpt, num_labels=2).train()
    df = subsample(pd.read_csv(task["files"]["train"], sep="\t", quoting=3), n, seed=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    perm = torch.randperm(len(df)).tolist()
    steps, t0 = 0, time.perf_counter()
    for i in range(0, len(df), bs):
        idx = perm[i:i + bs]
        enc = tok(df.sentence.iloc[idx].tolist(), padding=True, truncation=True, max_length=128,
                  return_tensors="pt")
        out = model(**enc, labels=torch.tensor(df.label.iloc[idx].to_numpy().copy()))
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        steps += 1
    return steps / (time.perf_counter() - t0)


if __name__ == "__main__":
    raise SystemExit(main())
