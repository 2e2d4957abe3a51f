"""Everything a worker process holds for its lifetime, built once in `lifespan`.

Each component is a typed field, None while it is disabled (settings) or not built yet;
routes reach them through the dependency aliases in `app/api/deps.py` (`SearchDep`,
`PrefsDep`, `ChatDep`), which answer 503 for a missing one. A new component is a new
optional field here, set in `app/bootstrap.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import make_engine, make_session_factory
from app.hooks import Hooks
from app.services import tombstones
from app.services.auth import KeyCache
from app.services.ratelimit import RateLimiter
from app.settings import Settings

if TYPE_CHECKING:  # heavy imports (torch, faiss, the LLM) stay out of import time
    from app.chat.capacity import TurnLimiter
    from app.chat.pipeline import TurnPipeline
    from app.creatives.service import CreativeService
    from app.jobs.engine import JobEngine
    from app.nba.service import NbaServices
    from app.services.personalization import Personalization
    from app.services.search import SearchRuntime
    from preference_model.sentiment import SentimentClassifier


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    hooks: Hooks
    keys: KeyCache
    limiter: RateLimiter
    secret: str
    # Components, each None when disabled or not built (see the module docstring).
    search: SearchRuntime | None = None
    prefs: Personalization | None = None
    chat: TurnPipeline | None = None
    chat_turns: TurnLimiter | None = None
    sentiment: SentimentClassifier | None = None
    widget_key: str = ""  # the demo store's public widget key, shown on its home page
    # Next best action: offers, propensities, decisions, webhooks (app/nba/service.py)
    nba: NbaServices | None = None
    jobs: JobEngine | None = None            # durable jobs (app/jobs), when enabled
    creatives: CreativeService | None = None  # creatives, copy, segments (app/creatives)
    # name -> callable returning "ok", "loading" or "error: ..." for /readyz
    readiness: dict[str, Callable[[], str]] = field(default_factory=dict)
    # name -> callable returning facts shown beside the status (sizes, progress, skipped rows)
    readiness_details: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size,
                             max_overflow=settings.db_max_overflow)
        secret = settings.resolved_secret_key()
        sessions = make_session_factory(engine, info=tombstones.session_info(secret))
        return cls(settings=settings, engine=engine, sessions=sessions,
                   hooks=Hooks(), keys=KeyCache(),
                   limiter=RateLimiter(settings.rate_limit_public_per_minute,
                                       settings.redis_url),
                   secret=secret)

    def close(self) -> None:
        self.engine.dispose()
