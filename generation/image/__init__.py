"""Image generation: `ImageGenerator(model_dir=None).generate(prompt, *, seed, steps, size)`.

    gen = ImageGenerator()                                 # embedded model, offline
    [img] = gen.generate("cosy autumn kitchen counter, warm terracotta palette",
                         seed=7, steps=20, size=1080)
    gen = ImageGenerator("/models/sd-turbo")              # any local diffusers checkpoint
    [img] = gen.generate("...", seed=7, steps=2, size=512, init_image=product_photo)

Training data and the scene vocabulary: `scenes`; the network: `model`; training:
scripts/train_image_model.py; errors: `errors`.
"""

from generation.image.errors import ImageError, ImageModelError, ImageRequestError
from generation.image.generator import ImageGenerator
from generation.image.scenes import Scene, describe, image_stats, render
from generation.image.upscale import upscale

__all__ = ["ImageError", "ImageGenerator", "ImageModelError", "ImageRequestError", "Scene",
           "describe", "image_stats", "render", "upscale"]
