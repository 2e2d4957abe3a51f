"""Shared fixtures: a real SQLite file and the local PostgreSQL, a TestClient per app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_KEY

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("TAILOR_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once."""
    from sqlalchemy import create_engine, text

    from app.db.migrate import upgrade

    name = f"tailor_t_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must be reachable in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = f"{PG_SERVER}/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    from app.db.base import Base

    engine = create_engine(url)
    # cache_versions keeps its rows (seeded by the migration; the counters only go up).
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables
                      if t.name != "cache_versions")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tailor.db'}"
    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tailor.db'}"


def make_settings(tmp_path: Path, url: str, **overrides: Any) -> Any:
    from app.settings import Settings

    values: dict[str, Any] = {
        "data_dir": tmp_path / "var", "database_url": url, "bootstrap_admin_key": ADMIN_KEY,
        "rate_limit_enabled": False, "env": "test", "log_level": "WARNING",
        # Most service tests do not search; those that do turn the index on.
        "search_enabled": False}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build a started app (lifespan run) on a given database URL."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    clients: list[TestClient] = []

    def build(url: str, **overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(tmp_path, url, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: Callable[..., Any], db_url: str) -> Any:
    return app_factory(db_url)
