"""`ImageGenerator.generate(prompt, *, seed, steps, size)`: the one call for images.

Two back ends behind the same call:
- embedded (default): the project's small text-conditioned UNet (generation/image/model.py,
  trained by scripts/train_image_model.py), DDIM sampling with classifier-free guidance at
  32x32 (the scale stored with the weights), upscaled classically (not at native size);
- production: any local diffusers checkpoint directory (Stable Diffusion 1.5, SD-Turbo,
  SDXL...) given as `model_dir`, on GPU when present, text-to-image and image-to-image.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from generation.image.errors import ImageModelError, ImageRequestError
from generation.image.model import WEIGHTS_DIR, TinyDiffusionConfig, build_scheduler, build_unet
from generation.image.upscale import upscale

Size = int | tuple[int, int]
MAX_SIDE = 2048


def _size(size: Size) -> tuple[int, int]:
    w, h = (size, size) if isinstance(size, int) else size
    if not (8 <= w <= MAX_SIDE and 8 <= h <= MAX_SIDE):
        raise ImageRequestError(f"size must be between 8 and {MAX_SIDE} pixels a side, "
                                f"got {w}x{h}")
    return int(w), int(h)


def _device(device: str | None) -> str:
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class ImageGenerator:
    """Text (and optionally an init image) to pictures.

    Args:
        model_dir: a diffusers checkpoint directory (has model_index.json) for the
            production path; None for the embedded model shipped in the package.
        device: "cuda", "cpu"...; default GPU when present.
        guidance: classifier-free guidance scale.
    """

    def __init__(self, model_dir: str | Path | None = None, *, device: str | None = None,
                 guidance: float | None = None, threads: int | None = None) -> None:
        self.device = _device(device)
        self._lock = threading.Lock()
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        path = Path(model_dir) if model_dir is not None else WEIGHTS_DIR
        if (path / "model_index.json").exists():
            self._backend: _Backend = _DiffusersBackend(path, self.device)
            self.guidance = 7.5 if guidance is None else guidance
        elif (path / "unet.safetensors").exists():
            embedded = _EmbeddedBackend(path, self.device)
            self._backend = embedded
            self.guidance = embedded.cfg.guidance if guidance is None else guidance
        else:
            raise ImageModelError(f"{path} is neither a diffusers checkpoint (model_index.json)"
                                  " nor the embedded model (unet.safetensors)")

    @property
    def model_id(self) -> str:
        return self._backend.model_id

    @property
    def native_size(self) -> int:
        return self._backend.native_size

    def generate(self, prompt: str, *, seed: int, steps: int = 20, size: Size = 512,
                 init_image: Image.Image | None = None, negative_prompt: str | None = None,
                 strength: float = 0.6, n: int = 1) -> list[Image.Image]:
        """`n` images for `prompt` at `size` (int or (width, height)); the same seed gives
        the same images. With `init_image`, restyle it (`strength`: 0 keeps it, 1 ignores
        it)."""
        if not prompt or not prompt.strip():
            raise ImageRequestError("the prompt is empty")
        if not 1 <= steps <= 200:
            raise ImageRequestError(f"steps must be 1..200, got {steps}")
        if not 1 <= n <= 8:
            raise ImageRequestError(f"n must be 1..8, got {n}")
        if not 0.0 <= strength <= 1.0:
            raise ImageRequestError(f"strength must be in [0, 1], got {strength}")
        if seed < 0 or seed >= 2**63:
            raise ImageRequestError("seed must be a non-negative 63-bit integer")
        w, h = _size(size)
        with self._lock:  # one generation at a time per process: the CPU/GPU is the limit
            try:
                return self._backend.run(prompt, seed=seed, steps=steps, size=(w, h),
                                         init_image=init_image,
                                         negative_prompt=negative_prompt,
                                         strength=strength, n=n, guidance=self.guidance)
            except (ImageModelError, ImageRequestError):
                raise
            except Exception as exc:  # torch / diffusers errors enter here
                raise ImageModelError(f"image generation failed: {exc}") from exc


class _Backend:
    model_id: str
    native_size: int

    def run(self, prompt: str, *, seed: int, steps: int, size: tuple[int, int],
            init_image: Image.Image | None, negative_prompt: str | None, strength: float,
            n: int, guidance: float) -> list[Image.Image]:
        raise NotImplementedError


class _EmbeddedBackend(_Backend):
    def __init__(self, path: Path, device: str) -> None:
        import torch
        from safetensors.torch import load_file

        from generation.image.text import TextEncoder

        try:
            self.cfg = TinyDiffusionConfig.load(path / "config.json")
            self.unet = build_unet(self.cfg)
            self.unet.load_state_dict(load_file(str(path / "unet.safetensors")))
        except Exception as exc:
            raise ImageModelError(f"cannot load the embedded image model from {path}: {exc}"
                                  ) from exc
        self.unet.to(device).eval().requires_grad_(False)
        self.device = device
        self.text = TextEncoder()
        # The prompt vectors are standardized as in training (scripts/train_image_model.py).
        norm = path / "text_norm.safetensors"
        stats = load_file(str(norm)) if norm.exists() else None
        self.text_mean = stats["mean"].to(device) if stats else None
        self.text_std = stats["std"].to(device) if stats else None
        self.heads: Any = None
        if self.cfg.conditioning == "attributes":
            from generation.image.conditioning import AttributeHeads

            try:
                self.heads = AttributeHeads(self.cfg.text_dim)
                self.heads.load_state_dict(load_file(str(path / "heads.safetensors")))
            except Exception as exc:
                raise ImageModelError(f"cannot load the attribute heads from {path}: {exc}"
                                      ) from exc
            self.heads.to(device).eval().requires_grad_(False)
        self.scheduler = build_scheduler(self.cfg, "ddim")
        self.native_size = self.cfg.sample_size
        self.model_id = f"tailor-tiny-diffusion-{self.cfg.sample_size}px@" \
                        f"{self.cfg.extra.get('steps', '?')}steps"
        self._torch = torch

    def _to_tensor(self, img: Image.Image) -> Any:
        s = self.native_size
        arr = np.asarray(img.convert("RGB").resize((s, s), Image.Resampling.LANCZOS),
                         np.float32)
        return self._torch.from_numpy(arr).permute(2, 0, 1)[None] / 127.5 - 1.0

    def run(self, prompt: str, *, seed: int, steps: int, size: tuple[int, int],
            init_image: Image.Image | None, negative_prompt: str | None, strength: float,
            n: int, guidance: float) -> list[Image.Image]:
        torch = self._torch
        texts = [prompt] + ([negative_prompt] if negative_prompt else [])
        vecs = torch.from_numpy(self.text.encode(texts)).to(self.device)
        if self.text_mean is not None and self.text_std is not None:
            vecs = (vecs - self.text_mean) / self.text_std
        if self.heads is not None:
            with torch.no_grad():
                vecs = self.heads(vecs)
        cond = vecs[:1].expand(n, -1)
        # Unconditional = the zero vector the model was trained with; a negative prompt
        # takes its place, so guidance pushes away from it.
        uncond = (vecs[1:2] if negative_prompt else torch.zeros_like(vecs[:1])).expand(n, -1)
        g = torch.Generator().manual_seed(seed)
        s = self.native_size
        sched = build_scheduler(self.cfg, "ddim")
        sched.set_timesteps(steps)
        timesteps = sched.timesteps
        noise = torch.randn((n, 3, s, s), generator=g).to(self.device)
        if init_image is not None:
            start = int(round(len(timesteps) * (1 - strength)))
            timesteps = timesteps[start:]
            if len(timesteps) == 0:
                return [init_image.convert("RGB").resize(size) for _ in range(n)]
            x0 = self._to_tensor(init_image).to(self.device).expand(n, -1, -1, -1)
            x = sched.add_noise(x0, noise, timesteps[:1].repeat(n))
        else:
            x = noise
        both = torch.cat([uncond, cond])
        with torch.no_grad():
            from generation.image.conditioning import unet_kwargs

            cond_kwargs = unet_kwargs(self.cfg.conditioning, both)
            for t in timesteps:
                eps = self.unet(torch.cat([x, x]), t, **cond_kwargs).sample
                e_u, e_c = eps.chunk(2)
                x = sched.step(e_u + guidance * (e_c - e_u), t, x).prev_sample
        arr = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        if size == (s, s):  # the native pixels themselves (upscale() would smooth them)
            return [Image.fromarray(a) for a in arr]
        return [upscale(Image.fromarray(a), size, seed=seed + i) for i, a in enumerate(arr)]


class _DiffusersBackend(_Backend):
    """Any local diffusers checkpoint, loaded without network (local_files_only)."""

    def __init__(self, path: Path, device: str) -> None:
        try:
            import torch
            from diffusers import AutoPipelineForText2Image

            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            self.pipe = AutoPipelineForText2Image.from_pretrained(
                str(path), dtype=dtype, local_files_only=True)
            self.pipe.to(device)
            self.pipe.set_progress_bar_config(disable=True)
        except Exception as exc:
            raise ImageModelError(f"cannot load the diffusers checkpoint {path}: {exc}"
                                  ) from exc
        self._img2img: Any = None
        self.device = device
        self.model_id = f"diffusers:{path.name}"
        unet = getattr(self.pipe, "unet", None) or getattr(self.pipe, "transformer", None)
        vae_scale = getattr(self.pipe, "vae_scale_factor", 8)
        self.native_size = int(getattr(getattr(unet, "config", None), "sample_size", 64)
                               ) * vae_scale

    def run(self, prompt: str, *, seed: int, steps: int, size: tuple[int, int],
            init_image: Image.Image | None, negative_prompt: str | None, strength: float,
            n: int, guidance: float) -> list[Image.Image]:
        import torch

        g = torch.Generator(device="cpu").manual_seed(seed)
        w, h = size
        # Latent models need sides divisible by 8 (x the VAE factor); generate at the
        # nearest such size and resize.
        gw, gh = max(64, w // 64 * 64), max(64, h // 64 * 64)
        kwargs: dict[str, Any] = {"prompt": prompt, "negative_prompt": negative_prompt,
                                  "num_inference_steps": steps, "guidance_scale": guidance,
                                  "num_images_per_prompt": n, "generator": g}
        if init_image is not None:
            if self._img2img is None:
                from diffusers import AutoPipelineForImage2Image

                self._img2img = AutoPipelineForImage2Image.from_pipe(self.pipe)
            out = self._img2img(image=[init_image.convert("RGB").resize((gw, gh))] * n,
                                strength=strength, **kwargs)
        else:
            out = self.pipe(width=gw, height=gh, **kwargs)
        return [im.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
                for im in out.images]
