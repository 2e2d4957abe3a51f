"""The one error shape every endpoint answers with (documented in the OpenAPI)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_input"],
                      description="Stable machine-readable code: invalid_input, unauthorized, "
                                  "forbidden, not_found, conflict, payload_too_large, "
                                  "rate_limited, unavailable, internal_error, ...")
    message: str = Field(description="What went wrong, for a person.")
    details: Any | None = Field(None, description="Per-field problems, when there are some.")
    request_id: str | None = Field(None, description="Quote it when reporting a problem; "
                                                     "also in the X-Request-ID header.")


class ErrorResponse(BaseModel):
    error: ErrorDetail
