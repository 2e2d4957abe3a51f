"""LangChain messages <-> OpenAI chat-completion payloads, shared by both backends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk

from generation.errors import LLMResponseError

_ROLES: dict[type[BaseMessage], str] = {
    SystemMessage: "system",
    HumanMessage: "user",
    AIMessage: "assistant",
    ToolMessage: "tool",
}


def _text_of(content: str | list[Any]) -> str:
    """Flatten LangChain content (a string or a list of blocks) to plain text."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """Convert LangChain messages to the ``messages`` array of a chat completion request."""
    out: list[dict[str, str]] = []
    for message in messages:
        if isinstance(message, ChatMessage):
            role = message.role
        else:
            role = next((r for t, r in _ROLES.items() if isinstance(message, t)), "")
        if not role:
            raise LLMResponseError(f"cannot send a {type(message).__name__} to a chat model")
        out.append({"role": role, "content": _text_of(message.content)})
    return out


def usage_of(payload: Mapping[str, Any]) -> UsageMetadata | None:
    """Read the OpenAI ``usage`` block, if the backend sent one."""
    usage = payload.get("usage")
    if not isinstance(usage, Mapping):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
    )


def raise_for_error_payload(payload: Mapping[str, Any]) -> None:
    """llama.cpp and vLLM report some failures as ``{"error": {...}}`` in a 200 body."""
    error = payload.get("error")
    if error:
        message = error.get("message") if isinstance(error, Mapping) else error
        raise LLMResponseError(f"backend error: {message}")


def chunk_from_openai(payload: Mapping[str, Any]) -> ChatGenerationChunk | None:
    """Turn one ``chat.completion.chunk`` into a LangChain chunk (None if it carries nothing)."""
    raise_for_error_payload(payload)
    choices = payload.get("choices") or []
    choice = choices[0] if choices else {}
    delta = choice.get("delta") or {}
    text = delta.get("content") or ""
    finish = choice.get("finish_reason")
    usage = usage_of(payload)
    if not text and finish is None and usage is None:
        return None
    info: dict[str, Any] = {}
    if finish is not None:
        info["finish_reason"] = finish
    if payload.get("model"):
        info["model_name"] = payload["model"]
    return ChatGenerationChunk(
        message=AIMessageChunk(content=text, usage_metadata=usage, response_metadata=info),
        generation_info=info or None,
    )


def message_from_openai(payload: Mapping[str, Any]) -> tuple[AIMessage, dict[str, Any]]:
    """Turn a non-streamed ``chat.completion`` into an AIMessage and its generation info."""
    raise_for_error_payload(payload)
    try:
        choice = payload["choices"][0]
        text = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMResponseError(f"malformed chat completion: {str(payload)[:200]}") from exc
    info: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
    if payload.get("model"):
        info["model_name"] = payload["model"]
    message = AIMessage(content=text, usage_metadata=usage_of(payload), response_metadata=info)
    return message, info
