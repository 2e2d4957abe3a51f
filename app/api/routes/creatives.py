"""Creatives for marketers and developers: jobs that render variants, synchronous copy,
segments and personas, approval, and the variants' return channel (impressions, clicks)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from app.api.deps import RuntimeDep, require
from app.creatives.brief import Audience, Moment
from app.creatives.models import AudienceRow, CreativeRow
from app.creatives.service import CreativeService, persona_audience
from app.errors import DependencyUnavailable, InvalidInput, NotFound
from app.runtime import Runtime
from app.schemas.creatives import (
    AudienceOut,
    CopyOut,
    CopyResponse,
    CreativeEvent,
    CreativeOut,
    CreativePatch,
    CreativeRequest,
    FormatOut,
    JobCreated,
    JobOut,
    PersonaIn,
    SegmentIn,
    Target,
    VersionOut,
)

router = APIRouter(tags=["creatives"])
STAFF = require("marketer", "developer", "admin")


def _svc(rt: Runtime) -> CreativeService:
    if rt.creatives is None:
        raise DependencyUnavailable("creatives are not enabled on this server")
    return rt.creatives


def _audience(svc: CreativeService, db: Session, body: Target) -> Audience:
    if body.customer_id is not None:
        return svc.audience(db, "customer", body.customer_id)
    if body.segment_id is not None:
        return svc.audience(db, "segment", body.segment_id)
    if body.persona_id is not None:
        return svc.audience(db, "persona", body.persona_id)
    assert body.persona is not None
    return persona_audience("inline", body.persona.name,
                            {"preferences": [p.model_dump() for p in body.persona.preferences]})


def _moment(body: Target) -> Moment:
    return Moment(season=body.season, weather=body.weather, local_time=body.local_time,
                  channel=body.channel)


def _urls(base: str, row: CreativeRow, fmt: str, version: int,
          current: bool = True) -> tuple[str, str]:
    # Each layout version has its own URL: the images are cached for a day, so an edited
    # creative must not reuse the old address. The plain URL is the current layout (what
    # version 1 was given); earlier versions always name themselves.
    q = f"?v={version}" if version > 1 or not current else ""
    return (f"{base}/v1/creatives/{row.id}/image/{fmt}.png{q}",
            f"{base}/v1/creatives/{row.id}/image/{fmt}.webp{q}")


def creative_out(request: Request, row: CreativeRow) -> CreativeOut:
    base = str(request.base_url).rstrip("/")
    version = row.version or 1
    formats = {}
    for fmt, f in row.formats.items():
        png, webp = _urls(base, row, fmt, version)
        formats[fmt] = FormatOut(width=f["width"], height=f["height"], png_url=png,
                                 webp_url=webp, contrast=f.get("contrast", []))
    previous = [VersionOut(version=v["version"], copy_text=v["copy"],
                           replaced_at=v["replaced_at"],
                           images={fmt: dict(zip(("png_url", "webp_url"),
                                                 _urls(base, row, fmt, v["version"],
                                                       current=False),
                                                 strict=True))
                                   for fmt in v["formats"]})
                for v in row.versions or []]
    return CreativeOut(id=row.id, job_id=row.job_id, variant=row.variant, status=row.status,
                       audience={"kind": row.audience_kind, "ref": row.audience_ref},
                       item_id=row.item_id, seed=row.seed, model=row.model,
                       copy_text=row.copy_text, brief=row.brief,
                       reasons=list(row.brief.get("reasons", [])), formats=formats,
                       version=version, previous_versions=previous,
                       impressions=row.impressions, clicks=row.clicks,
                       ctr=round(row.clicks / row.impressions, 4) if row.impressions else None)


# Variants differ in look (pattern and palette) as well as seed, so a marketer compares
# ideas, and the clicks on each teach which look works (CreativeService.clicked_styles).
ALTERNATE_PATTERNS = ("soft gradient", "stripes", "polka dots", "waves", "plain", "checks")
ALTERNATE_PALETTES = ("warm terracotta", "cool ocean blue", "fresh mint green", "sunny yellow",
                      "berry purple", "midnight navy and gold")


def _variant(base: dict[str, Any], i: int) -> dict[str, Any]:
    """Variant 1 is the profile's pick; the others try another pattern and palette."""
    from generation.image.scenes import Scene, describe

    if i == 0:
        return base
    b = dict(base)
    scene = dict(b["scene"])
    patterns = [p for p in ALTERNATE_PATTERNS if p != scene["pattern"]]
    palettes = [p for p in ALTERNATE_PALETTES if p != scene["palette"]]
    scene["pattern"] = patterns[(i - 1) % len(patterns)]
    scene["palette"] = palettes[(i - 1) % len(palettes)]
    b["scene"] = scene
    b["style_prompt"] = describe(Scene(**scene), 0)
    b["reasons"] = [*b["reasons"], f"variant {i + 1}: tries {scene['palette']} with "
                    f"{scene['pattern']}"]
    return b


@router.post("/creatives", status_code=202, response_model=JobCreated, dependencies=[STAFF],
             summary="Generate creative variants (a job)")
async def create_creatives(body: CreativeRequest, rt: RuntimeDep) -> JobCreated:
    """Builds one brief per variant from the audience's preferences and the product, then
    queues a durable job that writes copy, generates the background and lays out every
    format. Poll `status_url` (GET /v1/jobs/{id})."""
    svc = _svc(rt)
    if body.variants > rt.settings.creatives_max_variants:
        raise InvalidInput(f"too many variants: {body.variants}; at most "
                           f"{rt.settings.creatives_max_variants}")
    if rt.jobs is None:
        raise DependencyUnavailable("the job engine is not running")

    def plan() -> tuple[list[dict[str, Any]], str | None]:
        with svc.sessions() as db:
            audience = _audience(svc, db, body)
            base = svc.brief(db, audience, body.item_id, _moment(body), body.brief)
        return [_variant(base.as_dict(), i) for i in range(body.variants)], \
            audience.profile_id

    briefs, profile_id = await run_in_threadpool(plan)
    rng = random.Random(body.seed)
    payload = {"briefs": briefs, "formats": list(dict.fromkeys(body.formats)),
               "seeds": [rng.randrange(2**31) for _ in briefs], "profile_id": profile_id}
    from app.creatives.jobs import QUEUE, make_creatives

    jobs = rt.jobs
    job_id = await run_in_threadpool(jobs.enqueue, QUEUE, make_creatives, payload)
    return JobCreated(job_id=job_id, status_url=f"/v1/jobs/{job_id}", variants=len(briefs),
                      briefs=briefs)


@router.get("/jobs/{job_id}", response_model=JobOut, dependencies=[STAFF],
            summary="A job's progress and results")
async def get_job(job_id: str, request: Request, rt: RuntimeDep) -> JobOut:
    svc = _svc(rt)
    if rt.jobs is None:
        raise DependencyUnavailable("the job engine is not running")
    if len(job_id) > 64:
        raise NotFound(f"no job {job_id!r}")
    jobs = rt.jobs

    def read() -> JobOut:
        st = jobs.status(job_id)
        with svc.sessions() as db:
            rows = svc.of_job(db, job_id)
            return JobOut(id=st.id, state=st.state, progress=st.progress,  # type: ignore[arg-type]
                          error=st.error, creatives=[creative_out(request, r) for r in rows])

    return await run_in_threadpool(read)


@router.get("/creatives/{creative_id}", response_model=CreativeOut, dependencies=[STAFF],
            summary="One variant: copy, brief, profile snapshot, reasons, images, stats")
async def get_creative(creative_id: str, request: Request, rt: RuntimeDep) -> CreativeOut:
    svc = _svc(rt)

    def read() -> CreativeOut:
        with svc.sessions() as db:
            return creative_out(request, svc.get(db, creative_id))

    return await run_in_threadpool(read)


@router.get("/creatives/{creative_id}/image/{name}", summary="A variant's image (PNG or "
            "WebP); public by its unguessable id, like an email's hosted image",
            response_class=FileResponse)
async def creative_image(creative_id: str, name: str, rt: RuntimeDep,
                         v: int | None = Query(default=None, ge=1, description=(
                             "layout version (edited copy makes a new one); default: "
                             "the current one"))) -> FileResponse:
    svc = _svc(rt)
    fmt, _, ext = name.partition(".")
    if ext not in {"png", "webp"}:
        raise NotFound("images are <format>.png or <format>.webp")

    def find() -> Path:
        with svc.sessions() as db:
            row = svc.get(db, creative_id)
            formats = row.formats
            if v is not None and v != (row.version or 1):
                old = [x for x in row.versions or [] if x["version"] == v]
                if not old:
                    raise NotFound(f"creative {creative_id} has no version {v} (current: "
                                   f"{row.version or 1})")
                formats = old[0]["formats"]
            f = formats.get(fmt)
            if f is None:
                raise NotFound(f"creative {creative_id} has no {fmt!r} format")
            path = Path(f["files"][ext])
        if not path.exists():
            raise NotFound("the image file is missing on this server")
        return path

    path = await run_in_threadpool(find)
    return FileResponse(path, media_type=f"image/{ext}",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.patch("/creatives/{creative_id}", response_model=CreativeOut, dependencies=[STAFF],
              summary="Edit copy (checked like generated copy; the images are laid out "
              "again with it) or approve")
async def patch_creative(creative_id: str, body: CreativePatch, request: Request,
                         rt: RuntimeDep) -> CreativeOut:
    svc = _svc(rt)
    if body.copy_text is None and body.approved is None:
        raise InvalidInput("give `copy` to edit or `approved` to approve")

    def apply() -> CreativeOut:
        with svc.sessions() as db:
            row = svc.edit(db, creative_id, {str(k): v for k, v in (body.copy_text or {}).items()},
                           body.approved)
            return creative_out(request, row)

    return await run_in_threadpool(apply)


@router.post("/creatives/{creative_id}/events", response_model=CreativeOut,
             dependencies=[require("marketer", "developer", "admin")],
             summary="Return channel: an impression or click of this variant")
async def creative_event(creative_id: str, body: CreativeEvent, request: Request,
                         rt: RuntimeDep) -> CreativeOut:
    svc = _svc(rt)

    def apply() -> CreativeOut:
        with svc.sessions() as db:
            return creative_out(request, svc.record(db, creative_id, body.type, body.count))

    return await run_in_threadpool(apply)


@router.post("/copy", response_model=CopyResponse, dependencies=[STAFF],
             summary="Copy for an audience and product, now (no image)")
async def write_copy(body: Target, rt: RuntimeDep) -> CopyResponse:
    svc = _svc(rt)

    def run() -> CopyResponse:
        with svc.sessions() as db:
            brief = svc.brief(db, _audience(svc, db, body), body.item_id, _moment(body),
                              body.brief)
            copy = svc.write_copy(db, brief)
        return CopyResponse(copy_text=CopyOut(**copy.as_dict()), brief=brief.as_dict())

    return await run_in_threadpool(run)


def _audience_out(svc: CreativeService, db: Session, row: AudienceRow) -> AudienceOut:
    scan = svc.scan_segment(db, row.definition) if row.kind == "segment" else None
    return AudienceOut(id=row.id, kind=row.kind, name=row.name,  # type: ignore[arg-type]
                       description=row.description, definition=row.definition,
                       size=scan.size if scan else None,
                       size_estimated=bool(scan and scan.sampled))


@router.post("/segments", status_code=201, response_model=AudienceOut, dependencies=[STAFF],
             summary="Define a segment: a filter over customer profiles")
async def create_segment(body: SegmentIn, rt: RuntimeDep) -> AudienceOut:
    svc = _svc(rt)
    from app.creatives.brief import is_sensitive

    bad = [r.attribute for r in body.rules if is_sensitive(r.attribute)]
    if bad:
        raise InvalidInput(f"segments may not filter on sensitive topics: {', '.join(bad)}")

    def save() -> AudienceOut:
        with svc.sessions() as db:
            row = svc.save_audience(db, "segment", body.name, body.description,
                                    {"rules": [r.model_dump() for r in body.rules]})
            return _audience_out(svc, db, row)

    return await run_in_threadpool(save)


@router.post("/personas", status_code=201, response_model=AudienceOut, dependencies=[STAFF],
             summary="Write a persona: a profile a marketer imagines")
async def create_persona(body: PersonaIn, rt: RuntimeDep) -> AudienceOut:
    svc = _svc(rt)

    def save() -> AudienceOut:
        with svc.sessions() as db:
            row = svc.save_audience(db, "persona", body.name, body.description,
                                    {"preferences": [p.model_dump()
                                                     for p in body.preferences]})
            return _audience_out(svc, db, row)

    return await run_in_threadpool(save)


@router.get("/audiences", response_model=list[AudienceOut], dependencies=[STAFF],
            summary="Saved segments and personas")
async def list_audiences(rt: RuntimeDep) -> list[AudienceOut]:
    svc = _svc(rt)

    def read() -> list[AudienceOut]:
        from sqlalchemy import select

        with svc.sessions() as db:
            rows = db.scalars(select(AudienceRow).order_by(AudienceRow.created_at)).all()
            return [_audience_out(svc, db, r) for r in rows]

    return await run_in_threadpool(read)
