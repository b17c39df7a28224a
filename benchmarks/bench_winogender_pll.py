"""Masked-LM pseudo-log-likelihood for Winogender scoring: batched vs naive, same process.

Baseline (what a first implementation does): every masked copy of every sentence is its own
forward pass (batch 1) and the LM head runs over every position. Ours
(``multiberts_stats.tasks.pseudo_log_likelihood``): all masked copies of all distinct sentences,
sorted by length, in batches padded only to the longest, under ``torch.inference_mode``, with the
LM head applied only at the masked positions.

The model is randomly initialised (no download) with the real BERT vocabulary; ``--size base``
gives the BERT-base shape of the MultiBERTs checkpoints (slow on CPU).

    PYTHONPATH=. python benchmarks/bench_winogender_pll.py --sentences 24 --size small
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from multiberts_stats.tasks.base import data_env_value  # noqa: E402

SIZES = {"tiny": (64, 2, 2, 128), "small": (256, 4, 4, 1024), "base": (768, 12, 12, 3072)}


def naive_pll(model, tokenizer, sentences):
    import torch

    out = []
    with torch.no_grad():
        for s in sentences:
            ids = tokenizer(s)["input_ids"]
            total = 0.0
            for pos in range(1, len(ids) - 1):
                x = torch.tensor([ids])
                x[0, pos] = tokenizer.mask_token_id
                logits = model(input_ids=x).logits[0, pos]
                total += torch.log_softmax(logits, -1)[ids[pos]].item()
            out.append(total)
    return np.array(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=data_env_value() or str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sentences", type=int, default=24, help="Winogender sentences (x2 rewrites)")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    from multiberts_stats.tasks import get_task, pseudo_log_likelihood, rewrite_sentence

    if args.threads:
        torch.set_num_threads(args.threads)
    data = Path(args.data)
    tok = transformers.BertTokenizer(str(data / "bert_vocab" / "vocab.txt"))
    h, L, heads, ff = SIZES[args.size]
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM(transformers.BertConfig(
        vocab_size=tok.vocab_size, hidden_size=h, num_hidden_layers=L, num_attention_heads=heads,
        intermediate_size=ff)).eval()
    ex = get_task("winogender").load(data_dir=data)
    ex = ex.sample(n=min(args.sentences, len(ex)), random_state=0)
    rows = ex.to_dict("records")
    sents = ([rewrite_sentence(r, "occupation", "apposition") for r in rows]
             + [rewrite_sentence(r, "participant", "apposition") for r in rows])
    n_masked = sum(len(tok(s)["input_ids"]) - 2 for s in sents)

    pseudo_log_likelihood(model, tok, sents[:2])  # warm-up
    t0 = time.perf_counter()
    fast = pseudo_log_likelihood(model, tok, sents, batch_size=args.batch_size)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    bf16 = pseudo_log_likelihood(model, tok, sents, batch_size=args.batch_size, amp="bf16")
    t_bf16 = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = naive_pll(model, tok, sents)
    t_slow = time.perf_counter() - t0

    print(f"model: BERT {args.size} (hidden {h}, {L} layers, vocab {tok.vocab_size}); "
          f"{len(sents)} sentences, {n_masked} masked copies; torch threads {torch.get_num_threads()}")
    print(f"{'method':<38}{'seconds':>10}{'copies/s':>12}")
    print(f"{'naive (batch 1, head on all tokens)':<38}{t_slow:>10.2f}{n_masked / t_slow:>12.1f}")
    print(f"{'batched, sorted, masked-only head':<38}{t_fast:>10.2f}{n_masked / t_fast:>12.1f}")
    print(f"{'  + bf16 autocast':<38}{t_bf16:>10.2f}{n_masked / t_bf16:>12.1f}")
    print(f"speed-up: {t_slow / t_fast:.1f}x (fp32), {t_slow / t_bf16:.1f}x (bf16); "
          f"max |PLL difference| fp32 {np.max(np.abs(fast - slow)):.2e}, "
          f"bf16 {np.max(np.abs(bf16 - slow)):.2e} (PLL magnitude ~{np.mean(np.abs(slow)):.0f})")


if __name__ == "__main__":
    main()
