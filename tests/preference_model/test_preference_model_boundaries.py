"""Package boundaries of preference_model: one-way imports, the error tree the service maps
to HTTP statuses, the front door, and the facts it shares with the other packages."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import preference_model
from preference_model import errors

ROOT = Path(preference_model.__file__).resolve().parent
FORBIDDEN = {"fastapi", "starlette", "app", "retrieval", "generation"}


def _imports(path: Path, *, typing_only: bool) -> list[str]:
    """Modules a file imports (at run time; with typing_only, under TYPE_CHECKING too)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    if not typing_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_never_imports_the_service_or_the_other_libraries() -> None:
    for path in ROOT.rglob("*.py"):
        for name in _imports(path, typing_only=True):
            assert name.split(".")[0] not in FORBIDDEN, (path.name, name)
    code = ("import sys, preference_model; "
            f"print(sorted(m for m in {sorted(FORBIDDEN)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_parts_the_model_calls_do_not_import_it() -> None:
    """They read it through narrow views (`view.ModelView`, `candidates.Scorer`,
    `migrate.Relearner`): no import circle with the model, not even for the type checker."""
    for name in ("explain.py", "active.py", "view.py", "config.py", "candidates.py",
                 "migrate.py"):
        imported = _imports(ROOT / name, typing_only=True)
        assert not any(m.startswith("preference_model.model") for m in imported), name


def test_the_model_is_small_rooms_behind_a_thin_front() -> None:
    rooms = sorted((ROOT / "model").glob("*.py"))
    assert len(rooms) >= 7
    for path in rooms:
        assert len(path.read_text().splitlines()) < 400, path.name
    front = (ROOT / "model" / "__init__.py").read_text()
    assert len(front.splitlines()) < 80


def test_no_module_reaches_into_the_models_private_names() -> None:
    """The rooms call each other's private helpers; every other module (the library's own,
    the service, benchmarks, scripts) goes through public methods."""
    model_class = preference_model.PreferenceModel
    private = {n for cls in model_class.__mro__[:-1] for n in vars(cls)
               if n.startswith("_") and not n.startswith("__")}
    private |= {n for n in vars(model_class()) if n.startswith("_")}
    repo = ROOT.parent
    for folder in ("preference_model", "app", "benchmarks", "scripts"):
        for path in (repo / folder).rglob("*.py"):
            if path.parent == ROOT / "model":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Attribute) and node.attr in private):
                    continue
                owner = ast.unparse(node.value).rsplit(".", 1)[-1]
                assert not any(w in owner for w in ("model", "prefs", "learner")), \
                    f"{path.relative_to(repo)}:{node.lineno} {ast.unparse(node)}"


def test_error_tree() -> None:
    E = errors
    for leaf in (E.InvalidSignalError, E.UnknownCustomerError, E.ConsentRequiredError,
                 E.NotReadyError, E.StaleStateError, E.StateCorruptError,
                 E.SpaceMismatchError):
        assert issubclass(leaf, E.PreferenceModelError)
    assert issubclass(E.UnknownItemError, E.InvalidSignalError)
    assert issubclass(E.InvalidSignalError, ValueError)
    doc = E.__doc__ or ""
    for name in ("PreferenceModelError", "UnknownItemError", "StaleStateError"):
        assert name in doc


def test_every_error_leaf_has_an_http_status() -> None:
    from app.api.errors import LIBRARY_ERRORS

    leaves = [c for c in vars(errors).values()
              if isinstance(c, type) and issubclass(c, errors.PreferenceModelError)]
    assert leaves and all(c in LIBRARY_ERRORS for c in leaves)


def test_public_api_is_exported() -> None:
    assert sorted(preference_model.__all__) == sorted(set(preference_model.__all__))
    for name in preference_model.__all__:
        assert getattr(preference_model, name) is not None, name
    model = preference_model.PreferenceModel()
    for public in ("history", "invalidate", "is_sensitive_key", "learn_one", "rank",
                   "profile", "correct", "forget", "save", "load"):
        assert callable(getattr(model, public)), public


def test_sensitive_topics_agree_with_the_catalog_schema() -> None:
    """The service passes the catalog's list into the model; the library's default (for use
    on its own, it may not import retrieval: config.py says why) is a pinned copy."""
    from retrieval.catalog import SENSITIVE_TOPICS

    assert preference_model.SENSITIVE_TOPICS == SENSITIVE_TOPICS
    assert preference_model.PreferenceConfig().sensitive_topics == SENSITIVE_TOPICS
