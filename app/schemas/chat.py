from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.events import EventContext

MAX_MESSAGE_CHARS = 4000


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "message": "I'm vegan and need running shoes under $100",
        "session_id": None,
        "context": {"local_time": "2026-11-23T19:05:00+01:00", "device": "mobile",
                    "channel": "web"}}]})

    message: str = Field(description=f"The customer's message, 1-{MAX_MESSAGE_CHARS} chars.")
    session_id: str | None = Field(None, max_length=80,
                                   description="From the `session` event of an earlier turn.")
    customer_id: str | None = Field(None, max_length=128,
                                    description="Staff keys only: chat on behalf of a customer "
                                                "or visitor id. Widget keys use their visitor.")
    context: EventContext = Field(default_factory=lambda: EventContext())

    @field_validator("message")
    @classmethod
    def _message(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("message must not be empty")
        if len(v) > MAX_MESSAGE_CHARS:
            raise ValueError(f"message is {len(v)} characters; the limit is {MAX_MESSAGE_CHARS}")
        return v.strip()
