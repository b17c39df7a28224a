"""Mini masked-LM pretraining: time per step of the levers, and learning by step.

Part 1 times one AdamW step (forward + backward) on the same SST-2 batches for

* ``naive``: the full 30,522-token output layer over every position (``BertForPreTraining``
  with ``labels``, what DESIGN.md measured at 0.6 s/step for hidden 64) — the baseline;
* ``gather``: full vocabulary, hidden states of the masked positions gathered before the output
  layer (what ``pretrain_mini_family`` does with ``vocab_size=None``);
* ``gather+vocab4096``: plus the restricted 4,096-entry vocabulary built from the sentences
  (the ``pretrain_mini_family`` default),

printing seconds per step and the speed-up over the baseline, all in this process.

Part 2 (skip with ``--no-train``) runs ``pretrain_mini_family`` with the defaults for a few seeds
and prints training time and held-out (SST-2 dev) masked-token accuracy by step.

Usage::

    PYTHONPATH=. python benchmarks/mini_pretraining.py [--hidden 128] [--steps 0,100,300,1000]
        [--seeds 0,1] [--n-jobs 2] [--no-train] [--no-levers]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from multiberts_stats.tasks.base import data_env_value

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(data_env_value() or ROOT.parent / "shared" / "data")  # $MULTIBERTS_STATS_DATA


def read_sst2(split: str) -> list[str]:
    lines = (DATA / "glue" / "SST-2" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0].strip() for line in lines[1:] if line.strip()]


def time_levers(sentences, vocab_file, hidden, layers, heads, inter, batch_size, max_length,
                n_steps, threads):
    import torch
    from transformers import BertConfig, BertForPreTraining, BertTokenizer

    from multiberts_stats.testing import build_vocab, encode_sentences, mask_batch, pad_batch

    torch.set_num_threads(threads)
    small_vocab = Path(tempfile.mkdtemp()) / "vocab.txt"
    small_vocab.write_text("\n".join(build_vocab(sentences, vocab_file, 4096)) + "\n")
    rows = []
    base = None
    for label, vocab, gather in [("naive (full vocab, all positions)", vocab_file, False),
                                 ("gather (full vocab, masked only)", vocab_file, True),
                                 ("gather+vocab4096 (default)", small_vocab, True)]:
        tok = BertTokenizer(str(vocab), do_lower_case=True)
        enc = encode_sentences(tok, sentences[:batch_size * 4], max_length)
        special = np.asarray(sorted(set(tok.all_special_ids)))
        cfg = BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, intermediate_size=inter,
                         max_position_embeddings=64)
        torch.manual_seed(0)
        model = BertForPreTraining(cfg)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        rng = np.random.default_rng(0)
        times = []
        for i in range(n_steps + 2):
            chunk = enc[(i % 4) * batch_size:(i % 4 + 1) * batch_size]
            ids, attn = pad_batch(chunk, tok.pad_token_id)
            inputs, r, c, targets = mask_batch(ids, attn, rng, mask_prob=0.15,
                                                special_ids=special, mask_id=tok.mask_token_id,
                                                vocab_size=len(tok), n_special=5)
            t0 = time.perf_counter()
            x, a = torch.from_numpy(inputs), torch.from_numpy(attn)
            if gather:
                h = model.bert(input_ids=x, attention_mask=a).last_hidden_state
                logits = model.cls.predictions(h[torch.from_numpy(r), torch.from_numpy(c)])
                loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets))
            else:
                labels = torch.full_like(x, -100)
                labels[torch.from_numpy(r), torch.from_numpy(c)] = torch.from_numpy(targets)
                out = model(input_ids=x, attention_mask=a)
                loss = torch.nn.functional.cross_entropy(
                    out.prediction_logits.reshape(-1, cfg.vocab_size), labels.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= 2:  # warm-up steps excluded
                times.append(time.perf_counter() - t0)
        sec = float(np.median(times))
        base = base or sec
        params = sum(p.numel() for p in model.parameters())
        rows.append((label, len(tok), params, sec, base / sec))
    print(f"\nOne training step, batch {batch_size} x <= {max_length} tokens, hidden {hidden}, "
          f"{layers} layers, {threads} thread(s), median of {n_steps}:")
    print(f"{'variant':<36} {'vocab':>6} {'params':>9} {'s/step':>8} {'speed-up':>9}")
    for label, v, p, sec, ratio in rows:
        print(f"{label:<36} {v:>6} {p:>9,} {sec:>8.3f} {ratio:>8.1f}x")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=32)
    parser.add_argument("--time-steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--steps", default="0,100,300,1000")
    parser.add_argument("--eval", type=int, default=872, help="SST-2 dev sentences to score")
    parser.add_argument("--n-jobs", type=int, default=1, help="seeds trained in parallel")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--no-levers", action="store_true", help="skip part 1")
    args = parser.parse_args(argv)

    vocab_file = DATA / "bert_vocab" / "vocab.txt"
    train = read_sst2("train")
    dev = read_sst2("dev")[: args.eval]
    if not args.no_levers:
        time_levers(train, vocab_file, args.hidden, args.layers, args.heads, args.intermediate,
                    args.batch_size, args.max_length, args.time_steps, args.threads)
    if args.no_train:
        return 0

    from multiberts_stats.testing import pretrain_mini_family, pretraining_log

    seeds = [int(s) for s in args.seeds.split(",")]
    steps = [int(s) for s in args.steps.split(",")]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        fam = pretrain_mini_family(root, train, vocab_file, seeds=seeds, steps=steps,
                                   hidden_size=args.hidden, num_layers=args.layers,
                                   num_heads=args.heads, intermediate_size=args.intermediate,
                                   batch_size=args.batch_size, max_length=args.max_length,
                                   eval_sentences=dev, num_threads=1 if args.n_jobs > 1 else args.threads,
                                   n_jobs=args.n_jobs, quiet=True)
        log = pretraining_log(fam)
    wall = time.perf_counter() - t0
    print(f"\npretrain_mini_family: {len(seeds)} seed(s) x steps {steps}, "
          f"{int(log['n_params'].iloc[0]):,} parameters, n_jobs={args.n_jobs}: {wall:.0f} s in all "
          f"({wall / len(seeds) / max(steps):.3f} s per seed-step incl. saving and scoring)")
    table = log.pivot(index="step", columns="seed", values="heldout_masked_accuracy")
    table["mean"] = table.mean(axis=1)
    table["sd"] = table.drop(columns="mean").std(axis=1)
    print(f"held-out masked-token accuracy on {len(dev)} SST-2 dev sentences, by step and seed:")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    loss = log.pivot(index="step", columns="seed", values="train_loss")
    print("training loss (mean of the last 50 steps):")
    print(loss.to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
