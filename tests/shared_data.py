"""Evaluation data that lives outside the repository (SST-2, ReDial, ...).

Tests that need it call `shared_data("sst2/test.tsv")`: the path under
`$TAILOR_SHARED_DATA` (default: `../shared/data` beside the repository). On a fresh clone
without it they skip with a message saying what is missing; in CI (`CI` set) the data must
be there, so they fail instead of passing quietly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data"


def shared_data(relative: str) -> Path:
    base = Path(os.environ.get("TAILOR_SHARED_DATA", DEFAULT))
    path = base / relative
    if not path.exists():
        message = (f"evaluation data {relative} not found under {base} (set TAILOR_SHARED_DATA "
                   "to the shared data directory to run this test)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
