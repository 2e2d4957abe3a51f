"""``make_chat_model``: settings in, the configured LangChain chat model out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from generation.errors import LLMUnavailableError

__all__ = ["LLMSettings", "make_chat_model"]


class LLMSettings(BaseModel):
    """Which chat model to build. The app maps its own settings (env vars) onto this."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["embedded", "openai", "mock"] = "embedded"
    # embedded
    model_path: str | None = None
    """GGUF file for the embedded backend; None means the packaged SmolLM2-135M."""
    n_threads: int | None = Field(default=None, ge=1)
    n_ctx: int = Field(default=2048, ge=64)
    parallel: int = Field(default=1, ge=1)
    # openai-compatible
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = "default"
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    # sampling, all backends
    max_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    seed: int | None = None
    avoid_words: tuple[str, ...] = ()
    """Words the embedded model must never start to write (llama.cpp ``logit_bias``; an
    OpenAI-compatible endpoint needs token ids for that, so it ignores the list)."""


def make_chat_model(
    settings: LLMSettings | Mapping[str, Any] | object | None = None, /, **overrides: Any
) -> BaseChatModel:
    """Build the chat model that ``settings`` describe (``overrides`` win).

    ``settings`` may be an :class:`LLMSettings`, a mapping, or any object with attributes
    of the same names (only the known names are read). Nothing is loaded yet: the
    embedded model loads on first use or on ``.load()``.
    """
    try:
        if settings is None:
            base = LLMSettings()
        elif isinstance(settings, LLMSettings):
            base = settings
        elif isinstance(settings, Mapping):
            base = LLMSettings.model_validate(dict(settings))
        else:
            base = LLMSettings.model_validate(settings, from_attributes=True)
        config = base.model_copy(update=overrides) if overrides else base
        config = LLMSettings.model_validate(config.model_dump())  # re-check the overrides
    except ValidationError as exc:
        raise ValueError(f"invalid LLM settings: {exc}") from exc

    if config.backend == "embedded":
        from generation.llm.embedded import EmbeddedChatModel

        return EmbeddedChatModel(
            model_path=config.model_path,
            n_threads=config.n_threads,
            n_ctx=config.n_ctx,
            parallel=config.parallel,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            seed=config.seed,
            extra_body=_embedded_options(config),
        )
    if config.backend == "openai":
        from generation.llm.openai_compat import OpenAICompatibleChatModel

        if not config.base_url:
            raise LLMUnavailableError("the openai backend needs a base_url")
        return OpenAICompatibleChatModel(
            base_url=config.base_url,
            api_key=config.api_key,
            model=config.model,
            timeout=config.timeout,
            max_retries=config.max_retries,
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            seed=config.seed,
        )
    from generation.llm.mock import MockChatModel

    return MockChatModel()


def _embedded_options(config: LLMSettings) -> dict[str, Any]:
    # cache_prompt: reuse the KV cache of the longest prefix shared with the previous
    # request, so a prompt whose fixed instructions come first only evaluates its tail.
    options: dict[str, Any] = {"cache_prompt": True}
    if config.avoid_words:
        # llama.cpp tokenizes string keys itself; every case and leading-space variant
        # is listed because each is a different token.
        variants = {v for w in config.avoid_words
                    for v in (w, w.capitalize(), " " + w, " " + w.capitalize())}
        options["logit_bias"] = [[v, False] for v in sorted(variants)]
    return options
