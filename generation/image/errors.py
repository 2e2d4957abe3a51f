"""Errors of the image generator (diffusers and torch errors are wrapped where they enter).

    GenerationError (generation.errors)
    └── ImageError                   the image generator cannot do what was asked
        ├── ImageModelError          weights missing, unreadable or not a diffusers model
        └── ImageRequestError        bad arguments (size, steps, strength, seed)
"""

from __future__ import annotations

from generation.errors import GenerationError


class ImageError(GenerationError):
    pass


class ImageModelError(ImageError):
    pass


class ImageRequestError(ImageError):
    pass
