"""Package boundaries and the error tree the service maps to HTTP statuses."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import retrieval
from retrieval import errors

ROOT = Path(retrieval.__file__).resolve().parent


def test_never_imports_fastapi_or_app() -> None:
    for path in ROOT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"fastapi", "app", "starlette"}, (path, name)
    code = "import sys, retrieval; print(sorted(m for m in sys.modules if m in ('fastapi','app')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_tree() -> None:
    E = errors
    assert issubclass(E.InvalidFilterError, E.InvalidRequestError)
    for leaf in (E.InvalidRequestError, E.UnknownItemError, E.IndexNotReadyError,
                 E.EmbeddingError, E.IndexStorageError):
        assert issubclass(leaf, E.RetrievalError)
    assert "RetrievalError" in (E.__doc__ or "") and "UnknownItemError" in (E.__doc__ or "")
    assert "more" in str(E.UnknownItemError([f"id{i}" for i in range(8)]))


def test_public_api_is_exported() -> None:
    for name in ("CatalogIndex", "Embedder", "Filters", "Hit", "parse_query", "ParsedQuery",
                 "Reranker", "Item", "RetrievalError", "UnknownItemError"):
        assert name in retrieval.__all__ and hasattr(retrieval, name)
