"""Start-up work for a worker: migrations, the bootstrap admin key, the demo store."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import func, select

from app.db.migrate import upgrade
from app.db.models import ItemRow
from app.runtime import Runtime
from app.services import catalog
from app.services.auth import ROLES, create_key, ensure_key
from retrieval.catalog import iter_file

log = logging.getLogger(__name__)
DEMO_CATALOG = Path(__file__).parent / "demo" / "catalog.jsonl"


def startup(rt: Runtime) -> None:
    settings = rt.settings
    if settings.migrate_on_start:
        upgrade(settings.resolved_database_url)
    with rt.sessions() as db:
        if settings.bootstrap_admin_key:
            ensure_key(db, settings.bootstrap_admin_key, "admin", "bootstrap admin")
            db.commit()
    if settings.load_demo:
        load_demo(rt)
    if settings.search_enabled:
        from app.services.search import SearchRuntime

        search = SearchRuntime(settings, rt.sessions)
        rt.extras["search"] = search
        rt.hooks.catalog.append(search.on_catalog)
        rt.readiness["search"] = search.status
        search.start(background=True)


def shutdown(rt: Runtime) -> None:
    search = rt.extras.get("search")
    if search is not None:
        search.stop()


def demo_keys(rt: Runtime) -> dict[str, str]:
    """One key per role for the demo, kept in data_dir so restarts print the same keys."""
    path = rt.settings.data_dir / "demo_keys.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    keys: dict[str, str] = {}
    with rt.sessions() as db:
        for role in ROLES:
            keys[role] = create_key(db, role, f"demo {role}")[1]
        db.commit()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(keys, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return keys


def load_demo(rt: Runtime) -> dict[str, str]:
    keys = demo_keys(rt)
    rt.extras["widget_key"] = keys["widget"]
    with rt.sessions() as db:
        count = db.scalar(select(func.count()).select_from(ItemRow)) or 0
        if count == 0 and DEMO_CATALOG.exists():
            report = catalog.import_rows(db, iter_file(DEMO_CATALOG),
                                         listener=rt.hooks.emit_catalog)
            log.info("demo store loaded", extra={"items": report.accepted,
                                                 "rejected": len(report.rejected)})
    return keys
