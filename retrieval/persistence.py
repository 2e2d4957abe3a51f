"""Atomic, versioned index directories.

A directory cannot be atomically replaced by rename when the target is not
empty, so a saved index is a folder of versions plus a `CURRENT` pointer file:

    index_dir/
        CURRENT            -> "v-20260101T120000-ab12cd"
        v-20260101T120000-ab12cd/   (complete, fsynced before CURRENT moves)

A save writes a new version folder, fsyncs it, then `os.replace`s CURRENT (an
atomic rename). A crash at any point leaves the previous version current; a
loader that read the old pointer can still finish, because the version just
before the current one is kept.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from retrieval.errors import IndexStorageError

POINTER = "CURRENT"
KEEP_VERSIONS = 2


def write_version(root: str | Path, write: Callable[[Path], None]) -> Path:
    """Create a new version under `root` with `write(tmp_dir)`, then make it current."""
    base = Path(root)
    try:
        base.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"v-{stamp}-{uuid.uuid4().hex[:6]}"
        tmp = base / f".tmp-{name}"
        tmp.mkdir()
        write(tmp)
        for f in tmp.iterdir():
            _fsync(f)
        final = base / name
        os.replace(tmp, final)  # the version folder appears complete or not at all
        pointer_tmp = base / f".{POINTER}.{uuid.uuid4().hex[:6]}"
        pointer_tmp.write_text(name)
        _fsync(pointer_tmp)
        os.replace(pointer_tmp, base / POINTER)  # the atomic switch
        _fsync_dir(base)
    except OSError as exc:
        raise IndexStorageError(f"cannot save index to {base}: {exc}") from exc
    _prune(base)
    return final


def current_version(root: str | Path) -> Path:
    """The folder CURRENT points to; IndexStorageError if there is none."""
    base = Path(root)
    try:
        name = (base / POINTER).read_text().strip()
    except OSError as exc:
        raise IndexStorageError(f"no saved index at {base}: {exc}") from exc
    folder = base / name
    if not name.startswith("v-") or not folder.is_dir():
        raise IndexStorageError(f"{base}/{POINTER} points to a missing version {name!r}")
    return folder


def _prune(base: Path) -> None:
    """Drop old versions, keeping the newest few (a reader may still be loading one)."""
    current = (base / POINTER).read_text().strip()
    versions = sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("v-"))
    keep = {p.name for p in versions[-KEEP_VERSIONS:]} | {current}
    for p in versions:
        if p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
