"""All service settings in one place (environment variables prefixed TAILOR_, or a .env file)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Weight of each behavioural event type for the preference model (the return channel).
# view < dwell/zoom < click < add_to_cart < purchase; dismiss is negative; a rating maps
# (r - 3) / 2 at ingest. Custom types are added through TAILOR_EVENT_WEIGHTS.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "view": 0.1,
    "dwell": 0.3,
    "zoom": 0.3,
    "click": 0.5,
    "add_to_cart": 0.8,
    "purchase": 1.0,
    "dismiss": -0.7,
    "rating": 1.0,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAILOR_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default=Path("var"), description="Database, index files, secrets.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) in data_dir."
    )
    redis_url: str | None = Field(default=None, description="Enables shared rate limits.")
    secret_key: str | None = Field(
        default=None, description="Signs visitor tokens; generated into data_dir if unset."
    )
    bootstrap_admin_key: str | None = Field(
        default=None, description="If set, an admin API key with this value exists at start-up."
    )
    public_base_url: str = "http://localhost:8000"
    cors_origins: list[str] = Field(
        default_factory=list, description='Shop sites that embed the widget, e.g. '
        '["https://shop.example.com"]; ["*"] allows any (keys still apply).')

    # Return channel
    event_weights: dict[str, float] = Field(default_factory=dict)
    max_events_per_batch: int = 1000
    max_body_bytes: int = 2_000_000
    max_event_skew_seconds: int = 300

    # Rate limits (requests per minute) for public (widget and anonymous) callers.
    rate_limit_public_per_minute: int = 600
    rate_limit_enabled: bool = True

    # Privacy defaults: personalization on unless the customer opts out (a shop setting);
    # marketing, sensitive categories and demographics need an explicit opt-in.
    default_consent_personalization: bool = True
    default_phone_country_code: str = "1"

    # Retrieval
    search_enabled: bool = Field(default=True, description="Load the embedder and index.")
    embedding_model_dir: Path | None = Field(
        default=None, description="A sentence-transformers directory; default: MiniLM wheel.")
    index_exact_threshold: int = Field(default=50_000, ge=1)
    index_ef_search: int = Field(default=128, ge=8, le=4096)
    index_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    index_loading_min_items: int = Field(
        default=64, ge=1, description="/readyz reports 'loading' while this worker embeds at "
        "least this many catalog items at once (an import); fewer take a moment and don't.")

    # Preference model
    personalization_enabled: bool = True
    learn_inline_max: int = Field(default=50, ge=0, description="Event batches up to this "
                                  "size are learned before the response; larger ones in the "
                                  "background")
    learn_queue_batches: int = Field(default=20, ge=1, description="Background learner "
                                     "queue (batches) before requests learn inline")
    exploration: float = Field(default=0.1, ge=0, le=5,
                               description="Thompson-sampling scale in ranking; 0 = greedy.")
    novelty: float = Field(default=0.0, ge=0, le=5,
                           description="Popularity discount in ranking (0 = none); shows "
                           "more of the catalog's long tail at some accuracy.")
    non_repeatable_categories: list[str] = Field(
        default_factory=list, description="Category paths (and their subtrees) whose items "
        "are not recommended again once bought (furniture, appliances); an item's own "
        "`repeatable` attribute (yes/no) overrides")
    trending_window_hours: float = Field(
        default=72.0, gt=0, le=24 * 90, description="'Popular right now' counts the events "
        "of this window before the newest event (the events' own time, not the clock)")
    trending_refresh_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="How long a worker reuses its trending counts")
    near_duplicate_cosine: float = Field(
        default=0.97, gt=0, le=1, description="Items whose content embeddings are at least "
        "this close count as near-duplicates (diversity rule)")
    max_near_duplicates: int = Field(
        default=4, ge=1, le=100, description="At most this many near-duplicates of one "
        "another in one list; the rest move below the other items")
    question_min_gain: float = Field(default=0.05, ge=0,
                                     description="Ask a clarifying question above this gain.")
    preference_weights_dir: Path | None = Field(
        default=None, description="From `tailor train preferences`; default data_dir/preferences")
    preference_reload_seconds: float = Field(
        default=5.0, ge=0, le=3600, description="How often a worker looks for a newly "
        "trained prior in preference_weights_dir (and swaps it in without a restart); "
        "0 = on every request")

    # Chat assistant and its LLM (embedded SmolLM2 by default; any OpenAI-compatible server)
    chat_enabled: bool = True
    sentiment_enabled: bool = Field(default=True, description="SST-2 classifier for chat "
                                    "sentiment (else a lexicon)")
    shop_name: str = "Larkfield & Co."
    llm_backend: Literal["embedded", "openai", "mock"] = "embedded"
    llm_base_url: str | None = Field(default=None, examples=["http://127.0.0.1:11434/v1"])
    llm_api_key: str | None = None
    llm_model: str = "default"
    llm_threads: int | None = Field(default=None, ge=1)
    llm_max_tokens: int = Field(default=120, ge=8, le=4096)
    llm_temperature: float = Field(default=0.3, ge=0, le=2)
    # The embedded 135M model's favourite drift is condolence and apology ("so sorry to hear
    # about your loss"), which the grounding check must then cut; banning the words at the
    # source keeps its reply. A JSON list in the environment; [] to allow every word.
    # Products the reply prompt lists (the cards always show all). 1 keeps the embedded
    # model's first word fast; a larger model behind TAILOR_LLM_BASE_URL can take 3-4.
    llm_prompt_products: int = Field(default=1, ge=1, le=8)
    llm_avoid_words: tuple[str, ...] = ("sorry", "apologize", "apologise", "apologies",
                                        "unfortunately", "condolences", "misunderstanding")
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    llm_first_token_timeout_seconds: float = Field(default=8.0, gt=0)

    log_level: str = "INFO"
    log_json: bool = True
    load_demo: bool = False
    migrate_on_start: bool = Field(
        default=True, description="`tailor serve` migrates once, then starts workers without.")

    @field_validator("event_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        import re

        for name in v:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise ValueError(f"event type name {name!r}: lowercase letters, digits, _")
        return v

    @property
    def all_event_weights(self) -> dict[str, float]:
        return {**DEFAULT_EVENT_WEIGHTS, **self.event_weights}

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tailor.db').resolve()}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Written once; every worker process reads the same key.
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(32))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
