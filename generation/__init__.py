"""Tailor's generation package: the LLM boundary and versioned prompt templates.

Typical use (the app builds the model once, in its lifespan)::

    from generation import ResilientChat, load_prompt, make_chat_model

    llm = make_chat_model({"backend": "embedded"})          # or "openai" + base_url
    prompt = load_prompt("chat_reply").render(message=text, products=cards)
    chat = ResilientChat(llm, fallback=lambda error, partial: cards_sentence(cards))
    for chunk in chat.stream(prompt.to_messages(history)):
        send(chunk.text)                                   # chunk.degraded marks fallback

Every chat model is a LangChain ``BaseChatModel``; every error is in :mod:`generation.errors`.
"""

from generation.errors import (
    GenerationError,
    LLMError,
    LLMResponseError,
    LLMTimeoutError,
    LLMUnavailableError,
    MissingVariableError,
    PromptError,
    PromptNotFoundError,
    PromptRenderError,
    PromptValidationError,
)
from generation.llm import (
    ChatReply,
    EmbeddedChatModel,
    Fallback,
    LLMSettings,
    MockChatModel,
    OpenAICompatibleChatModel,
    ReplyChunk,
    ResilientChat,
    default_model_path,
    make_chat_model,
)
from generation.prompts import (
    PromptTemplate,
    PromptVariable,
    RenderedPrompt,
    list_prompts,
    load_prompt,
)

__all__ = [
    "ChatReply",
    "EmbeddedChatModel",
    "Fallback",
    "GenerationError",
    "LLMError",
    "LLMResponseError",
    "LLMSettings",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "MissingVariableError",
    "MockChatModel",
    "OpenAICompatibleChatModel",
    "PromptError",
    "PromptNotFoundError",
    "PromptRenderError",
    "PromptTemplate",
    "PromptValidationError",
    "PromptVariable",
    "RenderedPrompt",
    "ReplyChunk",
    "ResilientChat",
    "default_model_path",
    "list_prompts",
    "load_prompt",
    "make_chat_model",
]
