"""Exceptions raised by :mod:`generation`.

Outside exceptions (httpx, xllamacpp, yaml, jinja2, pydantic) are wrapped where they
enter, so callers only ever catch these::

    GenerationError                  anything that went wrong in generation/
    ├── LLMError                     the chat model could not give a usable reply
    │   ├── LLMUnavailableError      backend down: connect refused, 5xx/429 after retries,
    │   │                            model file missing or failed to load
    │   ├── LLMTimeoutError          no first token / no full reply within the deadline
    │   ├── LLMResponseError         backend answered, but with a client error (4xx)
    │   │                            or a payload we cannot read
    │   ├── LLMOverloadedError       no generation slot free in time (admission control)
    │   │   └── CircuitOpenError     the backend failed repeatedly: not even tried now
    │   └── LLMCancelledError        the reply was abandoned (shopper left, deadline)
    └── PromptError                  a prompt template is wrong or wrongly used
        ├── PromptNotFoundError      no YAML file for that name (and version)
        ├── PromptValidationError    the YAML is malformed or breaks the schema
        └── PromptRenderError        rendering failed
            └── MissingVariableError a required variable was not supplied

``ResilientChat`` catches :class:`LLMError` and turns it into a degraded reply (and
raises the last three itself, before any backend call for the first two);
:class:`PromptError` always propagates, because it is a programming error.
"""

from __future__ import annotations

__all__ = [
    "GenerationError",
    "CircuitOpenError",
    "LLMCancelledError",
    "LLMError",
    "LLMOverloadedError",
    "LLMResponseError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "MissingVariableError",
    "PromptError",
    "PromptNotFoundError",
    "PromptRenderError",
    "PromptValidationError",
]


class GenerationError(Exception):
    """Base class of every error raised by the generation package."""


class LLMError(GenerationError):
    """The chat model could not produce a usable reply."""


class LLMUnavailableError(LLMError):
    """The backend is unreachable, overloaded, or the model could not be loaded."""


class LLMTimeoutError(LLMError):
    """The backend did not answer (or finish answering) within the deadline."""


class LLMResponseError(LLMError):
    """The backend answered with a client error or a payload that cannot be read."""


class LLMOverloadedError(LLMError):
    """Every generation slot stayed busy for the whole admission wait: not sent at all."""


class CircuitOpenError(LLMOverloadedError):
    """The circuit breaker is open after repeated failures: the backend is not called."""


class LLMCancelledError(LLMError):
    """The caller abandoned the reply; the backend was told to stop."""


class PromptError(GenerationError):
    """A prompt template is malformed, missing, or used with the wrong variables."""


class PromptNotFoundError(PromptError):
    """No template file exists for the requested name (and version)."""


class PromptValidationError(PromptError):
    """A template file is not valid YAML or does not match the template schema."""


class PromptRenderError(PromptError):
    """A template could not be rendered with the given variables."""


class MissingVariableError(PromptRenderError):
    """A variable the template requires was not supplied."""
