"""Imports run one way: generation must not pull in the web app, nor load a model on import."""

from __future__ import annotations

import subprocess
import sys

import generation


def test_import_pulls_in_no_app_and_no_model() -> None:
    code = (
        "import sys, generation, generation.prompts; "
        "print(sorted(m for m in ('fastapi', 'app', 'xllamacpp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_front_door_exports_exist() -> None:
    assert sorted(generation.__all__) == generation.__all__
    for name in generation.__all__:
        assert getattr(generation, name) is not None
