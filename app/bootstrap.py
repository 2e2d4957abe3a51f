"""Start-up work for a worker: migrations, the bootstrap admin key, the demo store."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from app.db.migrate import upgrade
from app.db.models import ItemRow
from app.runtime import Runtime
from app.services import catalog
from app.services.auth import ROLES, create_key, ensure_key
from retrieval.catalog import iter_file

if TYPE_CHECKING:  # built lazily below: a server without search never loads torch
    from app.chat.pipeline import TurnPipeline
    from app.services.search import SearchRuntime

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

        search = rt.search = SearchRuntime(settings, rt.sessions)
        rt.hooks.catalog.append(search.on_catalog)
        rt.readiness["search"] = search.status
        rt.readiness_details["search"] = search.details
        if settings.personalization_enabled:
            from app.services.personalization import Personalization

            prefs = rt.prefs = Personalization(settings, rt.sessions)
            search.on_ready.append(prefs.attach)
            search.on_change.append(prefs.on_catalog)
            rt.hooks.events.append(prefs.on_events)
            rt.hooks.erase.append(prefs.on_erase)
            rt.hooks.merge.append(prefs.on_merge)
        search.start(background=True)
        if settings.chat_enabled:
            pipeline = rt.chat = build_chat(rt, search)
            if settings.sentiment_enabled and settings.embedding_model_dir is None:
                search.on_ready.insert(0, lambda _index: _attach_sentiment(rt, pipeline))
    if settings.nba_enabled:
        from app.nba.service import build as build_nba

        rt.nba = build_nba(rt)
    if settings.jobs_enabled:
        from app.jobs import start_jobs

        rt.jobs = start_jobs(rt)  # last: recovered jobs may start at once


def _attach_sentiment(rt: Runtime, pipeline: TurnPipeline) -> None:
    from app.services.search import shared_sentiment

    try:
        pipeline.sentiment = rt.sentiment = shared_sentiment()
    except Exception as exc:  # the chat still works with the lexicon fallback
        log.warning("sentiment classifier unavailable (%s); using the lexicon", exc)


def build_chat(rt: Runtime, search: SearchRuntime) -> TurnPipeline:
    """The turn pipeline with the configured LLM behind admission control, a circuit
    breaker, deadlines and a fallback; its state goes to /readyz and /metrics."""
    from app.chat.capacity import LLM_FIRST_TOKEN, TurnLimiter, llm_status, watch
    from app.chat.pipeline import TurnPipeline
    from generation.llm import AdmissionGate, CircuitBreaker, ResilientChat, make_chat_model

    s = rt.settings
    llm = make_chat_model({
        "backend": s.llm_backend, "base_url": s.llm_base_url, "api_key": s.llm_api_key,
        "model": s.llm_model, "n_threads": s.llm_threads, "max_tokens": s.llm_max_tokens,
        "temperature": s.llm_temperature, "timeout": s.llm_timeout_seconds, "seed": 7,
        "avoid_words": s.llm_avoid_words, "parallel": s.llm_parallel})
    chat = ResilientChat(
        llm, first_token_timeout=s.llm_first_token_timeout_seconds,
        total_timeout=s.llm_timeout_seconds,
        gate=AdmissionGate(s.llm_parallel, queue=s.llm_queue, wait=s.llm_queue_wait_seconds),
        breaker=CircuitBreaker(s.llm_breaker_failures, s.llm_breaker_reset_seconds),
        on_first_token=LLM_FIRST_TOKEN.observe)
    pipeline = TurnPipeline(chat=chat, search=search, prefs=rt.prefs,
                            sentiment=rt.sentiment, shop_name=s.shop_name,
                            prompt_products=s.llm_prompt_products)
    limiter = rt.chat_turns = TurnLimiter(s.chat_max_turns)
    rt.readiness["llm"] = lambda: llm_status(chat)
    watch(chat, limiter)
    if s.llm_backend == "embedded":
        # Load the model now, off the start-up path, rather than in the first turns.
        threading.Thread(target=_load_llm, args=(llm,), daemon=True,
                         name="tailor-llm-load").start()
    return pipeline


def _load_llm(llm: Any) -> None:
    try:
        llm.load()
    except Exception as exc:  # turns degrade to templates; the breaker stops the retries
        log.warning("the LLM could not be loaded: %s", exc)


def shutdown(rt: Runtime) -> None:
    if rt.nba is not None:
        rt.nba.close()
    if rt.jobs is not None:
        rt.jobs.stop()
        rt.jobs = None
    if rt.prefs is not None:
        rt.prefs.flush(timeout=10)
        rt.prefs.close()
    if rt.search is not None:
        rt.search.stop()


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
    rt.widget_key = keys["widget"]
    with rt.sessions() as db:
        count = db.scalar(select(func.count()).select_from(ItemRow)) or 0
        if count == 0 and DEMO_CATALOG.exists():
            report = catalog.import_rows(db, iter_file(DEMO_CATALOG),
                                         listener=rt.hooks.emit_catalog)
            log.info("demo store loaded", extra={"items": report.accepted,
                                                 "rejected": len(report.rejected)})
    return keys
