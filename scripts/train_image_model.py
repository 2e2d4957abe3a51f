"""Train the embedded text-to-image model on procedurally rendered ad backgrounds.

    nice -n 10 python scripts/train_image_model.py --minutes 45 --out var/image_train
    # then copy var/image_train/final/* to generation/image/weights/

Resumable: run the same command again and it continues from var/image_train/ckpt.pt.
The prompts are sentences about scenes (generation/image/scenes.py); a held-out set of
scenes never seen in training measures the denoising loss (and is what the benchmark
generates from: benchmarks/creatives.py).
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

from generation.image.model import TinyDiffusionConfig, build_scheduler, build_unet  # noqa: E402
from generation.image.scenes import Scene, held_out, render, scene_pool  # noqa: E402
from generation.image.text import TextEncoder  # noqa: E402


def batch(pool: list[tuple[Scene, str]], emb: torch.Tensor, idx: list[int], size: int,
          rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    imgs = np.stack([render(pool[i][0], size, int(rng.integers(1 << 30))) for i in idx])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return x, emb[idx]


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
    ap.add_argument("--export-only", action="store_true",
                    help="write final/ from the last checkpoint and stop")
    ap.add_argument("--cond-drop", type=float, default=0.1,
                    help="share of unconditional examples (classifier-free guidance)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = TinyDiffusionConfig(block_out_channels=tuple(int(c) for c in args.channels.split(",")))

    test = held_out()
    train = scene_pool(args.prompts, args.seed, {s.key() for s, _ in test})
    cache = args.out / f"emb-{args.prompts}-{args.seed}.pt"
    if cache.exists():
        emb, test_emb = torch.load(cache)
    else:
        encoder = TextEncoder()
        emb = torch.from_numpy(encoder.encode([p for _, p in train]))
        test_emb = torch.from_numpy(encoder.encode([p for _, p in test]))
        torch.save((emb, test_emb), cache)

    # Every prompt shares most of its words, so raw sentence vectors differ little; the
    # network learns far faster from standardized ones (stats kept with the weights).
    mean, std = emb.mean(0), emb.std(0) + 1e-3
    emb, test_emb = (emb - mean) / std, (test_emb - mean) / std
    unet = build_unet(cfg)
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = build_scheduler(cfg)
    step, history = 0, []
    ckpt = args.out / "ckpt.pt"
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

    def validate() -> float:
        g = torch.Generator().manual_seed(123)
        vrng = np.random.default_rng(123)
        x, e = batch(test, test_emb, list(range(64)), cfg.sample_size, vrng)
        t = torch.linspace(50, 950, 64).long()
        noise = torch.randn(x.shape, generator=g)
        a = alphas[t].view(-1, 1, 1, 1)
        with torch.no_grad():
            pred = ema(a.sqrt() * x + (1 - a).sqrt() * noise, t,
                       encoder_hidden_states=e[:, None], class_labels=e).sample
        return float((pred - noise).pow(2).mean())

    deadline = time.monotonic() + (0 if args.export_only else args.minutes * 60)
    bar = tqdm(total=args.max_steps, initial=step, unit="step")
    while step < args.max_steps and time.monotonic() < deadline:
        idx = rng.integers(0, len(train), args.batch).tolist()
        x, e = batch(train, emb, idx, cfg.sample_size, rng)
        drop = torch.from_numpy(rng.random(args.batch) < args.cond_drop)
        e = torch.where(drop[:, None], torch.zeros_like(e), e)
        t = torch.randint(0, cfg.train_timesteps, (args.batch,))
        noise = torch.randn_like(x)
        a = alphas[t].view(-1, 1, 1, 1)
        pred = unet(a.sqrt() * x + (1 - a).sqrt() * noise, t,
                    encoder_hidden_states=e[:, None], class_labels=e).sample
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
            val = validate()
            history.append({"step": step, "train_loss": loss.item(), "heldout_loss": val})
            bar.write(f"step {step}: train {loss.item():.4f} held-out {val:.4f}")
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
    cfg.extra = {"steps": step, "batch": args.batch, "lr": args.lr, "seed": args.seed,
                 "train_prompts": len(train), "heldout_prompts": len(test),
                 "heldout_loss": validate(), "history": history[-20:]}
    cfg.save(final / "config.json")
    print(json.dumps({k: v for k, v in cfg.extra.items() if k != "history"}))


if __name__ == "__main__":
    main()
