"""The creative studio's service: audiences, briefs, copy, jobs and variant stats.
(Creatives made for a named customer are exported and erased with them: privacy.py.)

Briefs are built where the request arrives (the preference model lives in the API
process); rendering (image, copy, layout) runs as a durable job (app/creatives/jobs.py) in
this process or in `tailor worker`s."""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.creatives.brief import Audience, Brief, Moment, Pref, Product, build_brief
from app.creatives.copy import BrandVoice, Copy, CopyWriter
from app.creatives.models import AudienceRow, CreativeRow
from app.creatives.render import background_file, lay_out
from app.db.models import ItemRow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.settings import Settings

log = logging.getLogger(__name__)
DEMO_IMAGES = Path(__file__).resolve().parents[1] / "demo" / "images"
DRAWN_FIELDS = ("headline", "body", "cta", "disclaimer")  # the subject line is not drawn


def product_of(row: ItemRow) -> Product:
    return Product(id=row.id, title=row.title, brand=row.brand or None, category=row.category,
                   price=row.price, currency=row.currency, description=row.description,
                   attributes={k: [str(x) for x in (v if isinstance(v, list) else [v])]
                               for k, v in (row.attributes or {}).items()},
                   image_url=row.image_url, sensitive_topics=tuple(row.sensitive_topics or ()))


def image_path(url: str | None) -> Path | None:
    """The local file behind a catalog image URL (the demo store's); remote images are not
    fetched (no network at run time)."""
    if not url:
        return None
    if url.startswith("/demo/images/"):
        return DEMO_IMAGES / Path(url).name
    path = Path(url)
    return path if path.is_absolute() and path.exists() else None


@dataclass(frozen=True)
class SegmentScan:
    members: list[Any]              # preference_model Profile views of the members
    scanned: int                    # profiles read
    total: int                      # profiles with a preference state

    @property
    def sampled(self) -> bool:
        return self.scanned < self.total

    @property
    def size(self) -> int:
        """Members, or their estimated number when a sample was read."""
        if not self.sampled:
            return len(self.members)
        return round(len(self.members) / max(1, self.scanned) * self.total)


class CreativeService:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *,
                 prefs: Callable[[], Any] = lambda: None,
                 complete: Callable[[], Any] = lambda: None) -> None:
        self.settings = settings
        self.sessions = sessions
        self._prefs = prefs          # the Personalization service, when this process has one
        self._complete = complete    # an LLM completion function, when this process has one
        self.out_dir = settings.creatives_dir or settings.data_dir / "creatives"
        self._generator: Any = None
        self._lock = threading.Lock()

    # -- models ------------------------------------------------------------------------
    def generator(self) -> Any:
        with self._lock:
            if self._generator is None:
                from generation.image import ImageGenerator

                self._generator = ImageGenerator(self.settings.image_model_dir,
                                                 device=self.settings.image_device)
            return self._generator

    def voice(self) -> BrandVoice:
        s = self.settings
        return BrandVoice(tone=s.brand_tone, banned_words=s.brand_banned_words,
                          disclaimer=s.brand_disclaimer,
                          limits={"headline": 40, "body": 140, "cta": 24, "subject": 60,
                                  **s.brand_limits})

    def writer(self, db: Session) -> CopyWriter:
        titles = list(db.scalars(select(ItemRow.title).limit(50_000)))
        return CopyWriter(self.voice(), self._complete(), titles)

    # -- audiences ---------------------------------------------------------------------
    def product(self, db: Session, item_id: str) -> Product:
        row = db.get(ItemRow, item_id)
        if row is None or not row.active:
            raise NotFound(f"no active product {item_id!r}")
        return product_of(row)

    def customer(self, db: Session, ref: str) -> Audience:
        from app.services import consent
        from app.services.identity import resolve

        profile = resolve(db, ref)  # NotFound for someone unknown
        flags = consent.current(db, profile, self.settings.default_consent_personalization)
        if not flags["marketing"]["granted"]:
            raise Forbidden(f"customer {ref!r} has not consented to marketing: no creative "
                            "is made for them by name (use a segment or a persona)")
        personalization = bool(flags["personalization"]["granted"])
        sensitive = bool(flags["sensitive"]["granted"])
        prefs = self.customer_prefs(profile.id, sensitive) if personalization else []
        prefs += self.clicked_styles(db, profile.id)
        return Audience(kind="customer", ref=ref, name=ref, prefs=tuple(prefs),
                        profile_id=profile.id, sensitive_ok=sensitive)

    def customer_prefs(self, pid: str, sensitive_ok: bool) -> list[Pref]:
        prefs = self._prefs()
        if prefs is None or not prefs.ready.is_set():
            return []
        p = prefs.model.profile(pid)
        out = [Pref(v.attribute, float(v.value), float(v.confidence), v.kind)
               for v in (*p.stated, *p.inferred) if v.attribute]
        return out

    def clicked_styles(self, db: Session, pid: str) -> list[Pref]:
        """The return channel for looks: the moods and palettes of this person's creatives
        that they clicked become inferred preferences (confidence grows with clicks), so
        someone who clicks warm, cosy imagery gets more of it."""
        from app.creatives.brief import COLOR_PALETTE

        colour_of: dict[str, str] = {}
        for colour, palette in COLOR_PALETTE.items():
            colour_of.setdefault(palette, colour)
        rows = db.execute(select(CreativeRow.brief, CreativeRow.clicks)
                          .where(CreativeRow.profile_id == pid, CreativeRow.clicks > 0)).all()
        tally: dict[str, float] = defaultdict(float)
        for brief, clicks in rows:
            scene = brief.get("scene", {})
            if scene.get("mood"):
                tally[f"style={scene['mood']}"] += clicks
            if scene.get("palette") in colour_of:
                tally[f"color={colour_of[scene['palette']]}"] += clicks
        return [Pref(attr, 1.0, min(0.95, 0.6 + 0.1 * n), "clicks on creatives")
                for attr, n in tally.items()]

    def audience(self, db: Session, kind: str, ref: str) -> Audience:
        if kind == "customer":
            return self.customer(db, ref)
        row = db.get(AudienceRow, ref)
        if row is None or row.kind != kind:
            raise NotFound(f"no {kind} {ref!r}")
        if kind == "persona":
            return persona_audience(row.id, row.name, row.definition)
        return self.segment_audience(db, row)

    def scan_segment(self, db: Session, definition: dict[str, Any]) -> SegmentScan:
        """The members of a segment (root profiles matching its filter) among at most
        `creatives_segment_sample` profiles: all of them on a store that small, otherwise
        a uniform random sample (the shares of preferences are then estimates, and so is
        the size). Only profiles with a preference state can match; finding them is a
        primary-key join, and loading their states (the costly part) is what the cap
        bounds."""
        from app.db.models import CustomerState, Profile

        prefs = self._prefs()
        if prefs is None or not prefs.ready.is_set():
            return SegmentScan([], 0, 0)
        cap = self.settings.creatives_segment_sample
        candidates = (select(Profile.id)
                      .join(CustomerState, CustomerState.profile_id == Profile.id)
                      .where(Profile.merged_into.is_(None)))
        total = int(db.scalar(select(func.count()).select_from(candidates.subquery())) or 0)
        if total > cap:
            candidates = candidates.order_by(func.random()).limit(cap)
        ids = list(db.scalars(candidates))
        rules = definition["rules"]
        members = []
        for pid in ids:
            p = prefs.model.profile(pid)
            if not p.exists:
                continue
            views = {"stated": p.stated, "inferred": p.inferred}
            if all(any(v.attribute == r["attribute"] and v.value > 0 and
                       v.confidence >= r.get("min_confidence", 0.0)
                       for kind in r.get("kinds", ["stated", "inferred"])
                       for v in views.get(kind, ())) for r in rules):
                members.append(p)
        return SegmentScan(members, len(ids), total)

    def segment_members(self, db: Session, definition: dict[str, Any]) -> list[str]:
        """Root profile ids matching the segment's filter (attribute, kind, confidence),
        among the profiles `scan_segment` reads."""
        return [p.customer_id for p in self.scan_segment(db, definition).members]

    def segment_audience(self, db: Session, row: AudienceRow) -> Audience:
        """The segment's aggregate preferences: the share of members holding each."""
        scan = self.scan_segment(db, row.definition)
        members = scan.members
        tally: dict[str, list[float]] = defaultdict(list)
        for p in members:
            for v in (*p.stated, *p.inferred):
                if v.attribute and v.value > 0:
                    tally[v.attribute].append(float(v.confidence))
        agg = [Pref(a, 1.0, round(len(cs) / len(members) * (sum(cs) / len(cs)), 3), "segment")
               for a, cs in tally.items() if members and len(cs) / len(members) >= 0.3]
        for r in row.definition["rules"]:  # the filter itself is what they share
            agg.append(Pref(r["attribute"], 1.0, max(0.6, r.get("min_confidence", 0.6)),
                            "segment"))
        return Audience(kind="segment", ref=row.id, name=row.name, prefs=tuple(agg),
                        size=scan.size, sample=scan.scanned if scan.sampled else None)

    def save_audience(self, db: Session, kind: str, name: str, description: str,
                      definition: dict[str, Any]) -> AudienceRow:
        row = AudienceRow(id=f"{kind[:3]}_{uuid.uuid4().hex[:12]}", kind=kind, name=name,
                          description=description, definition=definition)
        db.add(row)
        db.commit()
        return row

    # -- briefs and copy ---------------------------------------------------------------
    def brief(self, db: Session, audience: Audience, item_id: str, moment: Moment,
              note: str = "") -> Brief:
        product = self.product(db, item_id)
        if product.sensitive_topics and not (audience.kind == "customer" and
                                             audience.sensitive_ok):
            raise Forbidden(f"product {item_id!r} touches a sensitive topic "
                            f"({', '.join(product.sensitive_topics)}): creatives for it need "
                            "a named customer's consent to sensitive categories")
        return build_brief(audience, product, moment, note, now=datetime.now(UTC))

    def write_copy(self, db: Session, brief: Brief) -> Copy:
        return self.writer(db).write(brief)

    # -- creatives ---------------------------------------------------------------------
    def get(self, db: Session, creative_id: str) -> CreativeRow:
        row = db.get(CreativeRow, creative_id)
        if row is None:
            raise NotFound(f"no creative {creative_id!r}")
        return row

    def of_job(self, db: Session, job_id: str) -> list[CreativeRow]:
        return list(db.scalars(select(CreativeRow).where(CreativeRow.job_id == job_id)
                               .order_by(CreativeRow.variant)))

    def edit(self, db: Session, creative_id: str, copy: dict[str, str] | None,
             approve: bool | None) -> CreativeRow:
        row = self.get(db, creative_id)
        if copy:
            fields = {**row.copy_text, **copy}
            brief = Brief(**{k: v for k, v in row.brief.items()})
            bad = self.writer(db).check(fields, brief)
            if bad:
                raise InvalidInput("the edited copy breaks the brand voice or the product "
                                   "record", details=bad)
            new_copy = {**fields, "source": "edited"}
            if any(new_copy.get(k) != row.copy_text.get(k) for k in DRAWN_FIELDS):
                self.relayout(db, row, new_copy)  # commits (or 409 on a concurrent edit)
                db.refresh(row)
            else:
                row.copy_text = new_copy
            row.status = "draft"  # edited copy needs a fresh approval
        if approve is not None:
            row.status = "approved" if approve else "draft"
        row.updated_at = datetime.now(UTC)
        db.commit()
        return row

    def background(self, row: CreativeRow) -> Image.Image:
        """The creative's generated background: the stored file, or (creatives made
        before backgrounds were kept) the same prompt and seed generated again."""
        path = background_file(self.out_dir, row.id)
        if path.exists():
            with Image.open(path) as img:
                return img.convert("RGB")
        brief = row.brief
        gen = self.generator()
        [bg] = gen.generate(brief["style_prompt"], seed=row.seed,
                            steps=self.settings.image_steps, size=gen.native_size,
                            negative_prompt=brief.get("negative_prompt") or None)
        path.parent.mkdir(parents=True, exist_ok=True)
        bg.save(path)
        return bg

    def relayout(self, db: Session, row: CreativeRow, copy: dict[str, Any]) -> None:
        """Lay out every format again with `copy` over the same background and seed; the
        previous layout stays retrievable (`versions`, image URLs with ?v=N)."""
        old = row.version or 1
        folder = self.out_dir / row.id / f"v{old + 1}-{uuid.uuid4().hex[:8]}"
        formats = lay_out(self.settings, self.background(row), row.seed, copy, row.brief,
                          list(row.formats), folder)
        previous = {"version": old, "copy": row.copy_text, "formats": row.formats,
                    "replaced_at": datetime.now(UTC).isoformat()}
        # Compare-and-set on the version: of two edits racing, one wins, the other is told.
        done = db.execute(update(CreativeRow).where(CreativeRow.id == row.id,
                                                    CreativeRow.version == old)
                          .values(version=old + 1, formats=formats, copy_text=copy,
                                  versions=[*(row.versions or []), previous],
                                  updated_at=datetime.now(UTC)))
        if not getattr(done, "rowcount", 0):
            db.rollback()
            shutil.rmtree(folder, ignore_errors=True)
            raise Conflict(f"creative {row.id} was edited at the same time; reload it and "
                           "edit again")
        db.commit()

    def record(self, db: Session, creative_id: str, kind: str, n: int = 1) -> CreativeRow:
        """An impression or a click of a variant: its stats, and for a named customer the
        preference model (the product was engaged with)."""
        row = self.get(db, creative_id)
        col = CreativeRow.impressions if kind == "impression" else CreativeRow.clicks
        db.execute(update(CreativeRow).where(CreativeRow.id == creative_id)
                   .values({col.key: col + n}))
        db.commit()
        db.refresh(row)
        prefs = self._prefs()
        if row.profile_id and prefs is not None and prefs.ready.is_set() and kind == "click":
            from preference_model import Consent, Signal

            try:
                prefs.model.learn_one(Signal(row.profile_id, "inferred", item_id=row.item_id,
                                             event_type="click",
                                             context={"channel": "creative",
                                                      "creative": creative_id}),
                                      consent=Consent())
            except Exception as exc:  # the stats are recorded; learning is best effort
                log.warning("creative click not learned: %s", exc)
        return row


def persona_audience(ref: str, name: str, definition: dict[str, Any]) -> Audience:
    prefs = []
    for p in definition.get("preferences", []):
        prefs.append(Pref(p["attribute"], float(p.get("value", 1.0)),
                          float(p.get("confidence", 0.8)), "persona"))
    return Audience(kind="persona", ref=ref, name=name, prefs=tuple(prefs))
