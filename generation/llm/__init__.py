"""The LLM boundary: LangChain chat models for the embedded default and remote endpoints.

Every model here is a ``langchain_core`` ``BaseChatModel``: ``invoke``, ``stream``,
``astream`` and ``ainvoke`` work, and errors are :mod:`generation.errors` types.
"""

from generation.llm.admission import AdmissionGate, GateStats
from generation.llm.breaker import BreakerStats, CircuitBreaker
from generation.llm.cancel import CancelToken
from generation.llm.embedded import EmbeddedChatModel, default_model_path
from generation.llm.factory import LLMSettings, make_chat_model
from generation.llm.mock import MockChatModel
from generation.llm.openai_compat import OpenAICompatibleChatModel
from generation.llm.resilient import ChatReply, Fallback, LLMStats, ReplyChunk, ResilientChat

__all__ = [
    "AdmissionGate",
    "BreakerStats",
    "CancelToken",
    "ChatReply",
    "CircuitBreaker",
    "EmbeddedChatModel",
    "Fallback",
    "GateStats",
    "LLMSettings",
    "LLMStats",
    "MockChatModel",
    "OpenAICompatibleChatModel",
    "ReplyChunk",
    "ResilientChat",
    "default_model_path",
    "make_chat_model",
]
