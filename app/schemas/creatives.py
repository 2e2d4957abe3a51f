"""Request and response bodies of the creative API (creatives, jobs, copy, audiences)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Format = Literal["square", "landscape", "story", "email"]
Channel = Literal["social", "email", "display", "story"]
ATTRIBUTE = r"^[a-z][a-z0-9_ ]{0,39}=[^=]{1,60}$"


class PrefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: str = Field(pattern=ATTRIBUTE, examples=["color=green"])
    value: float = Field(default=1.0, ge=-1, le=1)
    confidence: float = Field(default=0.8, ge=0, le=1)


class PersonaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Weekend baker", "description": "Bakes on Sundays, loves warm kitchens",
        "preferences": [{"attribute": "style=cosy", "confidence": 0.9},
                        {"attribute": "material=wood", "confidence": 0.7}]}]})
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    preferences: list[PrefIn] = Field(min_length=1, max_length=30)


class SegmentRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: str = Field(pattern=ATTRIBUTE, examples=["diet=vegan"])
    kinds: list[Literal["stated", "inferred"]] = Field(default=["stated", "inferred"],
                                                       min_length=1)
    min_confidence: float = Field(default=0.0, ge=0, le=1)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Vegan, inferred", "rules": [{"attribute": "diet=vegan", "kinds": ["inferred"],
                                              "min_confidence": 0.6}]}]})
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    rules: list[SegmentRule] = Field(min_length=1, max_length=10)


class AudienceOut(BaseModel):
    id: str
    kind: Literal["segment", "persona"]
    name: str
    description: str
    definition: dict[str, Any]
    size: int | None = None
    size_estimated: bool = False   # from a random sample (creatives_segment_sample)


class Target(BaseModel):
    """Exactly one audience: a customer, a saved segment or persona, or an inline persona."""

    model_config = ConfigDict(extra="forbid")
    customer_id: str | None = Field(default=None, max_length=128)
    segment_id: str | None = Field(default=None, max_length=64)
    persona_id: str | None = Field(default=None, max_length=64)
    persona: PersonaIn | None = None
    item_id: str = Field(min_length=1, max_length=128)
    brief: str = Field(default="", max_length=500, description="The marketer's own words")
    channel: Channel = "social"
    season: Literal["spring", "summer", "autumn", "winter"] | None = None
    weather: str | None = Field(default=None, max_length=40)
    local_time: str | None = Field(default=None, max_length=40,
                                   examples=["2026-11-23T19:05:00+01:00"])

    @model_validator(mode="after")
    def _one_audience(self) -> Target:
        given = [n for n in ("customer_id", "segment_id", "persona_id", "persona")
                 if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of customer_id, segment_id, persona_id, "
                             f"persona (got {', '.join(given) or 'none'})")
        return self


class CreativeRequest(Target):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "persona": {"name": "Weekend baker",
                    "preferences": [{"attribute": "style=cosy", "confidence": 0.9}]},
        "item_id": "home-k-0001", "brief": "Autumn baking push", "formats": ["square", "email"],
        "variants": 3, "channel": "social"}]})
    formats: list[Format] = Field(default=["square"], min_length=1, max_length=4)
    variants: int = Field(default=2, ge=1, description="Variants to compare (at most "
                          "TAILOR_CREATIVES_MAX_VARIANTS)")
    seed: int | None = Field(default=None, ge=0, lt=2**31)


class CopyOut(BaseModel):
    headline: str
    body: str
    cta: str
    subject: str
    disclaimer: str = ""
    source: str
    notes: list[str] = []


class CopyResponse(BaseModel):
    copy_text: CopyOut = Field(alias="copy")
    brief: dict[str, Any]
    model_config = ConfigDict(populate_by_name=True)


class FormatOut(BaseModel):
    width: int
    height: int
    png_url: str
    webp_url: str
    contrast: list[dict[str, Any]]


class VersionOut(BaseModel):
    """An earlier layout of a creative, replaced when its copy was edited."""
    version: int
    copy_text: dict[str, Any] = Field(alias="copy")
    replaced_at: str
    images: dict[str, dict[str, str]]            # format -> {png_url, webp_url}
    model_config = ConfigDict(populate_by_name=True)


class CreativeOut(BaseModel):
    id: str
    job_id: str
    variant: int
    status: str
    audience: dict[str, Any]
    item_id: str
    seed: int
    model: str
    copy_text: dict[str, Any] = Field(alias="copy")
    brief: dict[str, Any]
    reasons: list[str]
    formats: dict[str, FormatOut]
    version: int = 1                             # layouts so far (edited copy adds one)
    previous_versions: list[VersionOut] = []
    impressions: int
    clicks: int
    ctr: float | None
    model_config = ConfigDict(populate_by_name=True)


class JobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: dict[str, Any]
    error: str | None = None
    creatives: list[CreativeOut] = []


class JobCreated(BaseModel):
    job_id: str
    status_url: str
    variants: int
    briefs: list[dict[str, Any]]


class CreativePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    copy_text: dict[Literal["headline", "body", "cta", "subject"], str] | None = Field(
        default=None, alias="copy")
    approved: bool | None = None


class CreativeEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["impression", "click"]
    count: int = Field(default=1, ge=1, le=10_000)
