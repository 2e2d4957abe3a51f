"""All service settings in one place (environment variables prefixed TAILOR_, or a .env file)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The event types the API accepts out of the box (the return channel). Their weights have one
# home, the preference model's table (preference_model/signals.py DEFAULT_EVENT_WEIGHTS:
# view < dwell/zoom < click < add_to_cart < purchase, dismiss negative, impression 0.0);
# app/services/events.py `event_weights` reads them there. A rating maps (r - 3) / 2 at
# ingest. Custom types and overrides come through TAILOR_EVENT_WEIGHTS.
DEFAULT_EVENT_TYPES: tuple[str, ...] = (
    "impression", "view", "dwell", "zoom", "click", "add_to_cart", "purchase", "dismiss",
    "rating")

# What a browser can observe by itself. A purchase (or a refund) is the shop's server's to
# report: from a public widget key anyone could forge one for their own visitor.
DEFAULT_WIDGET_EVENT_TYPES: tuple[str, ...] = (
    "impression", "view", "dwell", "zoom", "click", "add_to_cart", "dismiss", "rating")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAILOR_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Field(default=Path("var"), description="Database, index files, secrets.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) in data_dir."
    )
    db_pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL: connections "
                              "each process keeps (plus db_max_overflow at peaks)")
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    redis_url: str | None = Field(default=None, description="Enables shared rate limits.")
    secret_key: str | None = Field(
        default=None, description="Signs visitor tokens; generated into data_dir if unset."
    )
    secret_key_previous: str | None = Field(
        default=None, description="After rotating secret_key: tokens signed with this older "
        "key are still accepted (and re-issued with the new one) until they expire.")
    visitor_token_max_age_seconds: int = Field(
        default=30 * 86400, ge=60, description="A widget visitor token expires this long after "
        "it was issued; past half its life every response re-issues it (X-Visitor-Token-Refresh)")
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
    widget_event_types: tuple[str, ...] = Field(
        default=DEFAULT_WIDGET_EVENT_TYPES, description="Event types a public widget key may "
        'send; e.g. add "purchase" if the shop reports purchases from the browser.')

    # Rate limits (requests per minute) for public (widget and anonymous) callers.
    rate_limit_public_per_minute: int = 600
    rate_limit_enabled: bool = True
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description='Reverse proxies (IPs or CIDRs, e.g. ["10.0.0.0/8"]) whose '
        "X-Forwarded-For is believed; from any other peer the header is ignored.")

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
    learn_retry_seconds: float = Field(default=5.0, gt=0, le=3600, description="How often "
                                       "each worker looks for stored events not learned yet")
    learn_lease_seconds: float = Field(default=60.0, gt=0, description="How long the worker "
                                       "that took an event has to learn it before another "
                                       "worker's retry may")
    exploration: float = Field(default=0.1, ge=0, le=5,
                               description="Thompson-sampling scale in ranking; 0 = greedy.")
    novelty: float = Field(default=0.0, ge=0, le=5,
                           description="Popularity discount in ranking (0 = none); shows "
                           "more of the catalog's long tail at some accuracy.")
    repurchase_overrides: dict[str, Literal["repeat", "never"] | float] = Field(
        default_factory=dict, description="Buy it again, per item id, attribute "
        "('repurchase=never') or category: 'repeat', 'never' or a repeat rate in [0, 1], "
        'e.g. {"coffee": "repeat", "sofas": "never"}; overrides what is learned.')

    repurchase_horizon_days: float = Field(
        default=0.0, ge=0, le=365, description="Buy it again: count as due what falls due "
        "within this many days. 0 for on-site lists (coffee bought yesterday is not due); "
        "~30 when a list serves a month, such as a monthly email.")

    @field_validator("repurchase_overrides")
    @classmethod
    def _rates_in_range(cls, v: dict[str, str | float]) -> dict[str, str | float]:
        for key, rate in v.items():
            if not key or (isinstance(rate, float) and not 0.0 <= rate <= 1.0):
                raise ValueError(f"repurchase override {key!r}: a non-empty key and 'repeat', "
                                 f"'never' or a rate in [0, 1], got {rate!r}")
        return v

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
    chat_policy_text: str | None = Field(
        default=None, max_length=2000, description="The shop's own words on delivery, "
        "returns, gift wrap ...; the assistant quotes it when asked, else says it can't see "
        "that (it never invents a policy)")
    chat_realization: Literal["auto", "template", "llm"] = Field(
        default="auto", description="Who writes a plain recommendation's words: planned "
        "templates, or the LLM under the grounding checks; auto = templates for the "
        "embedded 135M model, the LLM behind TAILOR_LLM_BASE_URL")
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
    # Load and outages (docs/llm.md "Load and outages"). Generations at once per worker:
    # llama.cpp slots decoded together (continuous batching) for the embedded model, or
    # concurrent requests to TAILOR_LLM_BASE_URL. A turn that finds them all busy waits in
    # a short queue for a short while, then answers with its item-built reply at once.
    llm_parallel: int = Field(default=4, ge=1, le=64, description="LLM generations at once "
                              "per worker (llama.cpp slots for the embedded model)")
    llm_queue: int = Field(default=4, ge=0, le=1024, description="Turns that may wait for "
                           "a busy LLM slot; more answer from templates at once")
    llm_queue_wait_seconds: float = Field(default=0.3, ge=0, le=10, description="Longest "
                                          "wait for an LLM slot before the template reply")
    llm_breaker_failures: int = Field(default=3, ge=1, description="Consecutive LLM "
                                      "failures or timeouts that open the circuit")
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0, description="Open circuit: "
                                             "templates only this long, then one probe")
    chat_max_turns: int = Field(default=128, ge=1, description="Chat turns in progress per "
                                "worker; more get 503 with Retry-After")
    chat_first_words_seconds: float = Field(default=1.0, gt=0, le=120, description="Once a "
                                            "turn is ready, the LLM must start writing (slot "
                                            "wait + first token) within this, else the "
                                            "item-built reply; raise it for a slow remote LLM")

    # Next best action (docs/nba.md): contact policy, costs, delivery.
    nba_enabled: bool = True
    nba_default_timezone: str = Field(default="UTC", description="For customers whose time "
                                      "zone is unknown (profile attribute `timezone`, else "
                                      "their newest event's context.timezone)")
    nba_quiet_start: int = Field(default=21, ge=0, le=23, description="Quiet hours start "
                                 "(customer's local hour): no email, push or SMS until end")
    nba_quiet_end: int = Field(default=8, ge=0, le=23)
    nba_caps_per_day: dict[str, int] = Field(
        default_factory=lambda: {"email": 1, "push": 2, "sms": 1, "web": 20, "app": 20,
                                 "store": 5, "any": 4},
        description="Touches per channel per local calendar day; 'any' = outbound overall")
    nba_caps_per_week: dict[str, int] = Field(
        default_factory=lambda: {"email": 3, "push": 5, "sms": 2, "any": 10})
    nba_repeat_days: float = Field(default=7.0, ge=0, description="The same action is not "
                                   "sent again to a person within this many days")
    nba_fatigue_cost: float = Field(default=0.05, ge=0, description="Expected-value cost "
                                    "per outbound touch in the past 7 days (currency)")
    nba_channel_cost: dict[str, float] = Field(
        default_factory=lambda: {"email": 0.002, "push": 0.001, "sms": 0.04},
        description="What one message costs to send, per channel (currency)")
    nba_default_margin: float = Field(default=0.3, ge=0, lt=1, description="Margin rate "
                                      "assumed for items without a cost")
    nba_webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    nba_webhook_backoff_seconds: float = Field(default=2.0, gt=0, le=3600)
    nba_webhook_poll_seconds: float = Field(default=1.0, ge=0, le=3600, description="How "
                                            "often each worker sends due webhooks; 0: no "
                                            "background sender (tests, dedicated workers)")
    nba_fading_scan_cron: str = Field(default="0 0 * * * *", max_length=100, description=(
        "When the fading-customer scan runs (a DBOS schedule; cron with seconds first, "
        "UTC); empty: never"))
    # Creatives (docs/creatives.md): image model, brand voice and look, limits
    image_model_dir: Path | None = Field(default=None, description="A local diffusers "
                                         "checkpoint (SD 1.5, SD-Turbo, SDXL); default the "
                                         "embedded model")
    image_device: str | None = Field(default=None, description="cuda, cpu...; default GPU "
                                     "when present")
    image_steps: int = Field(default=20, ge=1, le=200)
    creatives_dir: Path | None = Field(default=None, description="Rendered creatives; "
                                       "default data_dir/creatives")
    creatives_max_variants: int = Field(default=6, ge=1, le=32)
    creatives_segment_sample: int = Field(
        default=5000, ge=1, le=1_000_000, description="Profiles read at most to resolve a "
        "segment's members and aggregate preferences: all of them below this, a uniform "
        "random sample above (shares and size are then estimates, said in the brief)")
    brand_tone: str = Field(default="warm and concise", max_length=120)
    brand_banned_words: tuple[str, ...] = ("cheap", "guaranteed", "miracle", "best ever")
    brand_disclaimer: str = Field(default="", max_length=200)
    brand_limits: dict[str, int] = Field(default_factory=lambda: {
        "headline": 40, "body": 140, "cta": 24, "subject": 60})
    brand_colors: tuple[str, ...] = Field(default=("#1F3A5F", "#E2725B"), description="Brand "
                                          "colours (hex): the CTA button, then accents")
    brand_logo_path: Path | None = Field(default=None, description="PNG/JPEG logo placed in "
                                         "a corner of every creative")

    # Durable jobs (DBOS Transact on this database; docs/creatives.md "Jobs")
    jobs_enabled: bool = Field(default=True, description="Launch the job engine in the app")
    jobs_in_process: bool = Field(default=True, description="Run queued jobs in the API "
                                  "process; false when `tailor worker` processes take them")
    jobs_executor_id: str | None = Field(default=None, max_length=64, description="This "
                                         "process's id among the job executors; a restarted "
                                         "process with the same id resumes its jobs")
    jobs_app_version: str = Field(default="tailor-1", description="Workflows resume only on "
                                  "processes of the same version; bump it when workflow "
                                  "code changes incompatibly")
    jobs_sys_db_pool_size: int = Field(default=20, ge=1, le=200, description="PostgreSQL "
                                       "connections of the job engine (DBOS) per process")
    jobs_modules: list[str] = Field(default_factory=list, description="Extra modules that "
                                    "declare workflows, imported by every process")

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

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted proxy {net!r} is not an IP address or CIDR") from exc
        return v

    @field_validator("nba_fading_scan_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from croniter import croniter

        if v and not croniter.is_valid(v, second_at_beginning=True):
            raise ValueError(f"{v!r} is not a cron expression (seconds first: '0 0 * * * *')")
        return v

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
