"""The image generator: the production path (a local diffusers checkpoint) and the
embedded model shipped in the package."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.image import (
    ImageGenerator,
    ImageModelError,
    ImageRequestError,
    Scene,
    image_stats,
    render,
)
from generation.image.model import WEIGHTS_DIR


def _tiny_stable_diffusion(path: Path) -> None:
    """A randomly initialised StableDiffusionPipeline built from config, saved as a
    diffusers checkpoint directory (what a real SD 1.5 download looks like on disk)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(8, 16), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=16,
        attention_head_dim=2, norm_num_groups=4)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4,
                        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                        down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2)
    # A byte-level BPE vocabulary of single characters (no merges): enough to tokenize.
    tok_dir = path.parent / "tok"
    tok_dir.mkdir()
    chars = string.ascii_lowercase + string.digits + ",.;:-'"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (tok_dir / "vocab.json").write_text(json.dumps(vocab))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"),
                              model_max_length=77)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=16,
                                        intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, max_position_embeddings=77,
                                        bos_token_id=0, eos_token_id=1, pad_token_id=1))
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer,
                                   scheduler=DDIMScheduler(), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(path))


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sd") / "tiny-sd"
    _tiny_stable_diffusion(path)
    return path


def test_production_path_loads_a_local_diffusers_checkpoint(tiny_sd: Path) -> None:
    gen = ImageGenerator(tiny_sd, device="cpu")
    assert gen.model_id == "diffusers:tiny-sd"
    [a] = gen.generate("warm terracotta kitchen", seed=3, steps=2, size=(96, 64))
    [b] = gen.generate("warm terracotta kitchen", seed=3, steps=2, size=(96, 64))
    assert a.size == (96, 64) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))  # seeded
    # image-to-image: restyle a product photo through the same class
    photo = Image.new("RGB", (64, 64), (200, 30, 30))
    out = gen.generate("cool blue", seed=3, steps=4, size=64, init_image=photo, strength=0.5,
                       negative_prompt="red", n=2)
    assert len(out) == 2 and out[0].size == (64, 64)


def test_bad_model_dir_and_requests_are_refused(tmp_path: Path, tiny_sd: Path) -> None:
    with pytest.raises(ImageModelError):
        ImageGenerator(tmp_path)
    gen = ImageGenerator(tiny_sd, device="cpu")
    for kwargs in ({"steps": 0}, {"size": 4}, {"size": (5000, 10)}, {"n": 9},
                   {"strength": 1.5}, {"seed": -1}):
        with pytest.raises(ImageRequestError):
            gen.generate("x", **{"seed": 1, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(ImageRequestError):
        gen.generate("  ", seed=1)


def test_renderer_draws_what_the_words_say() -> None:
    warm = Scene("warm terracotta", "plain", "studio backdrop", "bright daylight", "summer",
                 "clear", "calm", "velvet")
    cool = Scene(**{**warm.__dict__, "palette": "cool ocean blue"})
    striped = Scene(**{**warm.__dict__, "pattern": "stripes"})
    w, c = image_stats(render(warm)), image_stats(render(cool))
    assert w[0] > w[2] and c[2] > c[0]  # red over blue, and the reverse
    # horizontal stripes: vertical edge energy (rows differ) over horizontal
    s = image_stats(render(striped))
    assert s[7] > 2 * s[6]


@pytest.mark.skipif(not (WEIGHTS_DIR / "unet.safetensors").exists(),
                    reason="the embedded image weights are not committed yet")
def test_embedded_model_follows_its_prompt() -> None:
    gen = ImageGenerator(device="cpu")
    assert gen.native_size == 32
    warm = "a calm summer studio backdrop with a warm terracotta palette, plain, velvet " \
           "texture, bright daylight, clear weather"
    cool = warm.replace("warm terracotta", "cool ocean blue")
    [a] = gen.generate(warm, seed=1, steps=20, size=256)
    [b] = gen.generate(cool, seed=1, steps=20, size=256)
    assert a.size == (256, 256)
    [wide] = gen.generate(warm, seed=1, steps=10, size=(1200, 628))
    assert wide.size == (1200, 628)
    [again] = gen.generate(warm, seed=1, steps=20, size=256)
    assert np.array_equal(np.asarray(a), np.asarray(again))
    ma, mb = np.asarray(a, np.float32).mean((0, 1)), np.asarray(b, np.float32).mean((0, 1))
    assert ma[0] - ma[2] > mb[0] - mb[2] + 20, (ma, mb)  # warmer than the blue one
