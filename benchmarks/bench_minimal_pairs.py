"""Speed of minimal-pair scoring on BLiMP pairs: batched vs one sentence at a time, same process.

Causal LM (GPT-NeoX, random weights): :func:`causal_log_likelihood` (distinct sentences sorted by
length, batches padded to their longest sentence) against :func:`causal_log_likelihood_loop` (one
forward pass per sentence, no padding), on a tiny config (2 layers, hidden 32, the tests' BPE
vocabulary) and a BERT-base-sized one (12 layers, hidden 768, 12 heads, intermediate 3072, the
Pythia vocabulary size 50,304). Both give the same numbers (checked here, max |difference|).
Masked LM: :func:`pseudo_log_likelihood` throughput (every token masked in turn, batched) on the
same pairs, tiny BERT and BERT-base (random weights, the bert-base-uncased vocabulary).

Sentences come from the BLiMP files (``--data`` = the shared data folder; pairs drawn evenly from
the paradigms). Prints sentences per second and the batched / loop ratio.

Run: ``python benchmarks/bench_minimal_pairs.py [--pairs 300] [--base-pairs 100]
[--pll-base-pairs 30] [--threads 2] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np


def blimp_sentences(data: Path, pairs: int) -> list[str]:
    from multiberts_stats.tasks import get_task

    ex = get_task("blimp").load(data_dir=data)
    per = max(1, pairs // ex["UID"].nunique())
    ex = ex.groupby("UID").head(per)
    return ex["sentence_good"].tolist() + ex["sentence_bad"].tolist()


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def decoder(tok, size: str, device: str):
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    shape = ({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                  "intermediate_size": 64, "vocab_size": len(tok)} if size == "tiny" else
             {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                  "intermediate_size": 3072, "vocab_size": 50304})
    torch.manual_seed(0)
    cfg = GPTNeoXConfig(max_position_embeddings=512, rotary_pct=0.25, bos_token_id=0,
                        eos_token_id=0, tie_word_embeddings=False, **shape)
    return GPTNeoXForCausalLM(cfg).eval().to(device)


def encoder(vocab_file: Path, size: str, device: str):
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    tok = BertTokenizer(str(vocab_file), do_lower_case=True)
    shape = ({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                  "intermediate_size": 64} if size == "tiny" else {})
    torch.manual_seed(0)
    return BertForMaskedLM(BertConfig(vocab_size=len(tok), **shape)).eval().to(device), tok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--pairs", type=int, default=300, help="pairs for the tiny models")
    ap.add_argument("--base-pairs", type=int, default=100, help="pairs for the base-sized decoder")
    ap.add_argument("--pll-base-pairs", type=int, default=30, help="pairs for PLL with BERT-base")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a busy 2-core machine more threads spin-wait)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import torch

    from multiberts_stats.tasks.minimal_pairs import (
        causal_log_likelihood,
        causal_log_likelihood_loop,
    )
    from multiberts_stats.tasks.winogender import pseudo_log_likelihood
    from multiberts_stats.testing.decoders import decoder_corpus, train_bpe_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tok = train_bpe_tokenizer(decoder_corpus(args.data, n_sst2=1000), Path(tmp),
                                  vocab_size=1024)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; "
          f"BLiMP sentences; batch size {args.batch_size}\n")
    print(f"{'model':<34} {'sentences':>9} {'batched s/s':>11} {'loop s/s':>9} {'ratio':>6} "
          f"{'max |diff|':>10}")
    for size, pairs in (("tiny", args.pairs), ("base", args.base_pairs)):
        sents = blimp_sentences(args.data, pairs)
        model = decoder(tok, size, args.device)
        causal_log_likelihood(model, tok, sents[:8])  # warm-up
        fast, tf = timed(causal_log_likelihood, model, tok, sents, batch_size=args.batch_size)
        slow, ts = timed(causal_log_likelihood_loop, model, tok, sents)
        name = f"GPT-NeoX {size} causal (random)"
        print(f"{name:<34} {len(sents):>9} {len(sents) / tf:>11.1f} {len(sents) / ts:>9.1f} "
              f"{ts / tf:>6.1f} {np.abs(fast - slow).max():>10.2e}")
        del model
    print()
    print(f"{'model':<34} {'sentences':>9} {'PLL s/s':>11} {'masked copies/s':>15}")
    vocab = args.data / "bert_vocab" / "vocab.txt"
    for size, pairs in (("tiny", args.pairs), ("base", args.pll_base_pairs)):
        sents = blimp_sentences(args.data, pairs)
        model, btok = encoder(vocab, size, args.device)
        pseudo_log_likelihood(model, btok, sents[:4])
        _, t = timed(pseudo_log_likelihood, model, btok, sents, batch_size=64)
        copies = sum(len(x) - 2 for x in btok(sents)["input_ids"])
        name = f"BERT {size} masked LM PLL (random)"
        print(f"{name:<34} {len(sents):>9} {len(sents) / t:>11.1f} {copies / t:>15.1f}")
        del model


if __name__ == "__main__":
    main()
