"""The creative generation workflow: one durable step per variant (copy, background,
layout in every format, the row), so a worker killed mid-job resumes at the variant it
was on and no variant is stored twice (the row's id is derived from the job and variant)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from app import jobs
from app.creatives.brief import Brief
from app.creatives.models import CreativeRow
from app.creatives.render import background_file, lay_out
from app.db.upsert import insert_ignore_returning

if TYPE_CHECKING:
    from app.creatives.service import CreativeService
    from app.runtime import Runtime

# One image generation at a time per worker process: the CPU (or GPU) is the limit.
QUEUE = jobs.declare_queue("creatives", worker_concurrency=1)


def setup(rt: Runtime) -> None:
    """Called by the job engine before launch, in the API process and in workers."""
    if rt.creatives is None:
        from app.creatives.service import CreativeService

        rt.creatives = CreativeService(rt.settings, rt.sessions)
    jobs.provide("creatives", rt.creatives)


def creative_id(job_id: str, variant: int) -> str:
    return "cr_" + uuid.uuid5(uuid.NAMESPACE_URL, f"tailor:{job_id}:{variant}").hex[:20]


def render_variant(svc: CreativeService, job_id: str, payload: dict[str, Any],
                   variant: int) -> str:
    cid = creative_id(job_id, variant)
    with svc.sessions() as db:
        if db.get(CreativeRow, cid) is not None:  # stored before a crash: not again
            return cid
        brief = Brief(**payload["briefs"][variant])
        copy = svc.write_copy(db, brief)
        gen = svc.generator()
        seed = int(payload["seeds"][variant])
        [background] = gen.generate(brief.style_prompt, seed=seed,
                                    steps=svc.settings.image_steps, size=gen.native_size,
                                    negative_prompt=brief.negative_prompt or None)
        # Kept so that edited copy is laid out again over the same picture.
        bg_file = background_file(svc.out_dir, cid)
        bg_file.parent.mkdir(parents=True, exist_ok=True)
        background.save(bg_file)
        formats = lay_out(svc.settings, background, seed, copy.as_dict(), brief.as_dict(),
                          payload["formats"], svc.out_dir / cid)
        insert_ignore_returning(db, CreativeRow, [{
            "id": cid, "job_id": job_id, "variant": variant,
            "audience_kind": brief.audience["kind"], "audience_ref": brief.audience["ref"],
            "profile_id": payload.get("profile_id"), "item_id": brief.product["id"],
            "status": "draft", "seed": seed, "model": gen.model_id, "brief": brief.as_dict(),
            "copy_text": copy.as_dict(), "formats": formats, "version": 1,
            "impressions": 0, "clicks": 0,
        }], ["id"], CreativeRow.id)
        db.commit()
    return cid


@jobs.step(retries_allowed=True, max_attempts=3, interval_seconds=2.0)
def variant_step(job_id: str, payload: dict[str, Any], variant: int) -> str:
    return render_variant(jobs.resource("creatives"), job_id, payload, variant)


@jobs.workflow()
def make_creatives(payload: dict[str, Any]) -> list[str]:
    job_id = jobs.current_job_id()
    total = len(payload["briefs"])
    done: list[str] = []
    jobs.report(done=0, total=total, creatives=[])
    for variant in range(total):
        done.append(variant_step(job_id, payload, variant))
        jobs.report(done=variant + 1, total=total, creatives=list(done))
    return done
