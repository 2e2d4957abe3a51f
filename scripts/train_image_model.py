"""Train the embedded text-to-image model on procedurally rendered ad backgrounds.

    nice -n 10 python scripts/train_image_model.py --minutes 60 --threads 1 \
        --out var/image_train4 --init-from generation/image/weights
    # then copy var/image_train4/final/* to generation/image/weights/

Resumable: run the same command again and it continues from <out>/ckpt.pt.
The prompts are sentences about scenes (generation/image/scenes.py). Three disjoint sets
of scenes: training; validation (the attribute heads' accuracy, the validation loss
logged at each checkpoint, the guidance scale chosen by `benchmarks/creatives.py
--split validation`); held-out (never used for a choice: the benchmark's numbers).

First the attribute heads (generation/image/conditioning.py) are fitted on the training
prompts (seconds), then the UNet learns to denoise conditioned on their outputs.
`--init-from` warm-starts the UNet from earlier weights (tensors whose shapes match).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generation.image.conditioning import (  # noqa: E402
    ATTR_DIM,
    SIZES,
    AttributeHeads,
    unet_kwargs,
)
from generation.image.model import TinyDiffusionConfig, build_scheduler, build_unet  # noqa: E402
from generation.image.scenes import (  # noqa: E402
    Scene,
    held_out,
    labels,
    render,
    scene_pool,
    validation,
)
from generation.image.text import TextEncoder  # noqa: E402


def batch(pool: list[tuple[Scene, str]], cond: torch.Tensor, idx: list[int], size: int,
          rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    imgs = np.stack([render(pool[i][0], size, int(rng.integers(1 << 30))) for i in idx])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return x, cond[idx]


def fit_heads(emb: torch.Tensor, y: np.ndarray, val_emb: torch.Tensor, val_y: np.ndarray,
              seed: int) -> tuple[AttributeHeads, dict[str, float]]:
    """Per-attribute classifiers on the standardized prompt vectors (full batch, seconds);
    their accuracy on the validation prompts is logged with the weights."""
    torch.manual_seed(seed)
    heads = AttributeHeads(emb.shape[1])
    opt = torch.optim.AdamW(heads.parameters(), lr=3e-3, weight_decay=1e-2)
    target = torch.from_numpy(y)
    for _ in range(300):
        loss = torch.stack([torch.nn.functional.cross_entropy(lg, target[:, k])
                            for k, lg in enumerate(heads.logits(emb))]).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    heads.eval().requires_grad_(False)
    from generation.image.scenes import ATTRIBUTES

    val_target = torch.from_numpy(val_y)
    acc = {name: float((lg.argmax(-1) == val_target[:, k]).float().mean())
           for k, (name, lg) in enumerate(zip(ATTRIBUTES, heads.logits(val_emb), strict=True))}
    return heads, acc


def init_from(unet: torch.nn.Module, weights: Path) -> int:
    """Copy the tensors of earlier weights whose names and shapes match; the others (the
    conditioning layers when it changed) keep their fresh initialisation."""
    from safetensors.torch import load_file

    old = load_file(str(weights / "unet.safetensors"))
    own = unet.state_dict()
    same = {k: v for k, v in old.items() if k in own and own[k].shape == v.shape}
    unet.load_state_dict(same, strict=False)
    return len(same)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("var/image_train"))
    ap.add_argument("--minutes", type=float, default=45.0, help="wall-time cap")
    ap.add_argument("--max-steps", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--prompts", type=int, default=6000, help="training scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--channels", default="16,32,32", help="UNet block widths")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--init-from", type=Path, default=None,
                    help="warm-start the UNet from this weights folder (matching tensors)")
    ap.add_argument("--export-only", action="store_true",
                    help="write final/ from the last checkpoint and stop")
    ap.add_argument("--cond-drop", type=float, default=0.1,
                    help="share of unconditional examples (classifier-free guidance)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = TinyDiffusionConfig(block_out_channels=tuple(int(c) for c in args.channels.split(",")),
                              conditioning="attributes", cond_dim=ATTR_DIM)

    test, val = held_out(), validation()
    train = scene_pool(args.prompts, args.seed, {s.key() for s, _ in test + val})
    cache = args.out / f"emb-{args.prompts}-{args.seed}.pt"
    if cache.exists():
        emb, val_emb, test_emb = torch.load(cache)
    else:
        encoder = TextEncoder()
        emb, val_emb, test_emb = (torch.from_numpy(encoder.encode([p for _, p in part]))
                                  for part in (train, val, test))
        torch.save((emb, val_emb, test_emb), cache)

    # Every prompt shares most of its words, so raw sentence vectors differ little; the
    # heads learn far faster from standardized ones (stats kept with the weights).
    mean, std = emb.mean(0), emb.std(0) + 1e-3
    emb, val_emb, test_emb = ((e - mean) / std for e in (emb, val_emb, test_emb))
    heads_file = args.out / "heads.pt"
    if heads_file.exists():
        heads = AttributeHeads(emb.shape[1])
        heads.load_state_dict(torch.load(heads_file))
        heads.eval().requires_grad_(False)
        head_acc = json.loads((args.out / "heads.json").read_text())
    else:
        heads, head_acc = fit_heads(emb, labels(train), val_emb, labels(val), args.seed)
        torch.save(heads.state_dict(), heads_file)
        (args.out / "heads.json").write_text(json.dumps(head_acc))
    print("attribute heads, validation accuracy:", json.dumps(head_acc))
    with torch.no_grad():
        cond, val_cond, test_cond = heads(emb), heads(val_emb), heads(test_emb)
    assert cond.shape[1] == sum(SIZES)

    unet = build_unet(cfg)
    ckpt = args.out / "ckpt.pt"
    if args.init_from is not None and not ckpt.exists():
        print(f"warm start: {init_from(unet, args.init_from)} tensors from {args.init_from}")
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = build_scheduler(cfg)
    step, history = 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, history = state["step"], state["history"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}")
    rng = np.random.default_rng(args.seed + step)
    alphas = sched.alphas_cumprod

    def denoising_loss(pool: list[tuple[Scene, str]], c: torch.Tensor) -> float:
        g = torch.Generator().manual_seed(123)
        vrng = np.random.default_rng(123)
        x, e = batch(pool, c, list(range(64)), cfg.sample_size, vrng)
        t = torch.linspace(50, 950, 64).long()
        noise = torch.randn(x.shape, generator=g)
        a = alphas[t].view(-1, 1, 1, 1)
        with torch.no_grad():
            pred = ema(a.sqrt() * x + (1 - a).sqrt() * noise, t,
                       **unet_kwargs(cfg.conditioning, e)).sample
        return float((pred - noise).pow(2).mean())

    deadline = time.monotonic() + (0 if args.export_only else args.minutes * 60)
    bar = tqdm(total=args.max_steps, initial=step, unit="step")
    while step < args.max_steps and time.monotonic() < deadline:
        idx = rng.integers(0, len(train), args.batch).tolist()
        x, e = batch(train, cond, idx, cfg.sample_size, rng)
        drop = torch.from_numpy(rng.random(args.batch) < args.cond_drop)
        e = torch.where(drop[:, None], torch.zeros_like(e), e)
        t = torch.randint(0, cfg.train_timesteps, (args.batch,))
        noise = torch.randn_like(x)
        a = alphas[t].view(-1, 1, 1, 1)
        pred = unet(a.sqrt() * x + (1 - a).sqrt() * noise, t,
                    **unet_kwargs(cfg.conditioning, e)).sample
        loss = (pred - noise).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        lr = args.lr * min(1.0, (step + 1) / 50)  # short warm-up
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        decay = min(0.995, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters(), strict=True):
                pe.lerp_(p, 1 - decay)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if step % args.ckpt_every == 0:
            val_loss = denoising_loss(val, val_cond)
            history.append({"step": step, "train_loss": loss.item(), "val_loss": val_loss})
            bar.write(f"step {step}: train {loss.item():.4f} validation {val_loss:.4f}")
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"unet": unet.state_dict(), "ema": ema.state_dict(),
                        "opt": opt.state_dict(), "step": step, "history": history,
                        "torch_rng": torch.get_rng_state()}, tmp)
            os.replace(tmp, ckpt)
    bar.close()
    final = args.out / "final"
    final.mkdir(exist_ok=True)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in ema.state_dict().items()},
              str(final / "unet.safetensors"))
    save_file({"mean": mean.contiguous(), "std": std.contiguous()},
              str(final / "text_norm.safetensors"))
    save_file({k: v.contiguous() for k, v in heads.state_dict().items()},
              str(final / "heads.safetensors"))
    cfg.extra = {"steps": step, "batch": args.batch, "lr": args.lr, "seed": args.seed,
                 "train_prompts": len(train), "validation_prompts": len(val),
                 "heldout_prompts": len(test), "init_from": str(args.init_from or ""),
                 "heads_validation_accuracy": head_acc,
                 "val_loss": denoising_loss(val, val_cond),
                 "heldout_loss": denoising_loss(test, test_cond), "history": history[-20:]}
    cfg.save(final / "config.json")
    print(json.dumps({k: v for k, v in cfg.extra.items() if k != "history"}))


if __name__ == "__main__":
    main()
