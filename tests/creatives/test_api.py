"""The creative API end to end on a real app: personas and segments, a job on the job
engine (in process), variants with copy, brief and images, approval, the return channel,
and precise 4xx."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from PIL import Image

from generation.image.model import WEIGHTS_DIR
from tests.support import ADMIN_KEY, auth, new_key

pytestmark = pytest.mark.skipif(not (WEIGHTS_DIR / "unet.safetensors").exists(),
                                reason="the embedded image weights are not committed yet")

ITEMS = [
    {"id": "mug-1", "title": "Larkfield Stoneware Mug", "category": "Home > Kitchen",
     "brand": "Larkfield", "price": 18.0, "currency": "USD",
     "attributes": {"material": ["stoneware"], "color": ["red"]}},
    {"id": "tote-1", "title": "Everly Waxed Canvas Tote", "category": "Accessories > Bags",
     "brand": "Everly", "price": 49.0, "attributes": {"material": ["canvas"]}},
    {"id": "test-1", "title": "Early Pregnancy Test", "category": "Health > Tests",
     "price": 9.0, "sensitive_topics": ["pregnancy"]},
]
COSY = {"name": "Weekend baker", "preferences": [
    {"attribute": "style=cosy", "confidence": 0.9}, {"attribute": "color=orange"},
    {"attribute": "material=wood", "confidence": 0.7}]}
COOL = {"name": "City runner", "preferences": [
    {"attribute": "color=blue", "confidence": 0.9}, {"attribute": "style=sporty"}]}


def _wait_job(client: Any, h: dict[str, str], job_id: str, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}", headers=h)
        assert r.status_code == 200, r.text
        if r.json()["state"] in {"succeeded", "failed", "cancelled"}:
            return r.json()
        time.sleep(0.2)
    raise AssertionError("job did not finish")


@pytest.fixture
def studio(app_factory: Any, sqlite_url: str) -> tuple[Any, dict[str, str]]:
    client = app_factory(sqlite_url, image_steps=8)
    r = client.put("/v1/items", json=ITEMS, headers=auth(ADMIN_KEY))
    assert r.status_code == 200, r.text
    return client, auth(new_key(client, "marketer"))


def test_personas_get_different_creatives_with_reasons(studio: Any) -> None:
    client, h = studio
    jobs = {}
    for name, persona in (("cosy", COSY), ("cool", COOL)):
        r = client.post("/v1/creatives", headers=h, json={
            "persona": persona, "item_id": "mug-1", "brief": "autumn push",
            "formats": ["square", "email"], "variants": 2, "seed": 5})
        assert r.status_code == 202, r.text
        jobs[name] = r.json()
        assert r.json()["status_url"] == f"/v1/jobs/{r.json()['job_id']}"
    done = {k: _wait_job(client, h, v["job_id"]) for k, v in jobs.items()}
    for job in done.values():
        assert job["state"] == "succeeded", job
        assert job["progress"]["done"] == 2 and len(job["creatives"]) == 2
    cosy, cool = done["cosy"]["creatives"][0], done["cool"]["creatives"][0]
    assert cosy["brief"]["scene"]["palette"] == "warm terracotta"
    assert cool["brief"]["scene"]["palette"] == "cool ocean blue"
    assert any("style=cosy" in r for r in cosy["reasons"])
    assert cosy["brief"]["profile_snapshot"] and cosy["model"].startswith("tailor-tiny")
    assert cosy["copy"]["headline"] != cool["copy"]["headline"]  # mood-led copy differs
    assert "Larkfield Stoneware Mug" in cosy["copy"]["body"]
    # images: the right sizes, both formats, measurably different colour
    means = []
    for c in (cosy, cool):
        sq = c["formats"]["square"]
        assert (sq["width"], sq["height"]) == (1080, 1080)
        assert all(b["contrast"] >= 4.5 for b in sq["contrast"])
        r = client.get(sq["png_url"].replace("http://testserver", ""))
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        import io

        img = Image.open(io.BytesIO(r.content))
        assert img.size == (1080, 1080)
        r = client.get(c["formats"]["email"]["webp_url"].replace("http://testserver", ""))
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (600, 300)
        # the background strip along the bottom edge (no text or product there)
        means.append(np.asarray(img, np.float32)[-40:].mean((0, 1)))
    # the second variant tries another look, and says so
    v2 = done["cosy"]["creatives"][1]
    assert v2["brief"]["scene"]["pattern"] != cosy["brief"]["scene"]["pattern"]
    assert v2["reasons"][-1].startswith("variant 2")
    warmth = [m[0] - m[2] for m in means]
    assert warmth[0] > warmth[1] + 15, f"backgrounds not warmer for the cosy persona: {warmth}"


def test_edit_approve_and_return_channel(studio: Any) -> None:
    client, h = studio
    r = client.post("/v1/creatives", headers=h, json={"persona": COSY, "item_id": "tote-1",
                                                      "variants": 1})
    job = _wait_job(client, h, r.json()["job_id"])
    cid = job["creatives"][0]["id"]
    r = client.patch(f"/v1/creatives/{cid}", headers=h,
                     json={"copy": {"headline": "Miracle tote, guaranteed"}})
    assert r.status_code == 422 and "banned" in str(r.json()["error"]["details"])
    r = client.patch(f"/v1/creatives/{cid}", headers=h,
                     json={"copy": {"body": "The Everly Waxed Canvas Tote for $12.00."}})
    assert r.status_code == 422  # a price the record does not hold
    r = client.patch(f"/v1/creatives/{cid}", headers=h,
                     json={"copy": {"headline": "Carry autumn with the Everly tote"},
                           "approved": True})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["copy"]["source"] == "edited"
    for kind, n in (("impression", 40), ("click", 3)):
        r = client.post(f"/v1/creatives/{cid}/events", headers=h, json={"type": kind,
                                                                        "count": n})
        assert r.status_code == 200, r.text
    got = client.get(f"/v1/creatives/{cid}", headers=h).json()
    assert (got["impressions"], got["clicks"], got["ctr"]) == (40, 3, 0.075)


def test_precise_client_errors(studio: Any) -> None:
    client, h = studio
    base = {"persona": COSY, "item_id": "mug-1"}
    cases = [
        ({**base, "variants": 99}, 422, "too many variants"),
        ({**base, "item_id": "nope"}, 404, "no active product"),
        ({"segment_id": "seg_missing", "item_id": "mug-1"}, 404, "no segment"),
        ({"item_id": "mug-1"}, 422, "exactly one"),
        ({**base, "customer_id": "C-1"}, 422, "exactly one"),
        ({**base, "formats": ["poster"]}, 422, ""),
        ({**base, "brief": "x" * 600}, 422, ""),
        ({"customer_id": "C-unknown", "item_id": "mug-1"}, 404, ""),
        ({**base, "item_id": "test-1"}, 403, "sensitive"),
    ]
    for body, status, words in cases:
        r = client.post("/v1/creatives", headers=h, json=body)
        assert r.status_code == status, (body, r.text)
        assert words in r.text
    # a named customer without marketing consent
    client.post("/v1/identify", headers=auth(ADMIN_KEY), json={"customer_id": "C-7"})
    r = client.post("/v1/creatives", headers=h, json={"customer_id": "C-7",
                                                      "item_id": "mug-1"})
    assert r.status_code == 403 and "marketing" in r.text
    r = client.post("/v1/segments", headers=h, json={"name": "x", "rules": [
        {"attribute": "health=diabetes"}]})
    assert r.status_code == 422 and "sensitive" in r.text
    widget = auth(new_key(client, "widget"))
    assert client.post("/v1/copy", headers=widget, json=base).status_code == 403
    assert client.get("/v1/jobs/nope", headers=h).status_code == 404
    assert client.get("/v1/creatives/nope", headers=h).status_code == 404


def test_copy_is_synchronous_and_grounded(studio: Any) -> None:
    client, h = studio
    r = client.post("/v1/copy", headers=h, json={"persona": COSY, "item_id": "mug-1",
                                                 "channel": "email"})
    assert r.status_code == 200, r.text
    copy = r.json()["copy"]
    assert copy["cta"] == "Open to see it" and copy["subject"]
    assert len(copy["headline"]) <= 40 and len(copy["body"]) <= 140
    assert "$18.00" in copy["body"] or "18.00" in copy["body"]
    persona = client.post("/v1/personas", headers=h, json=COOL)
    assert persona.status_code == 201
    r = client.post("/v1/copy", headers=h, json={"persona_id": persona.json()["id"],
                                                 "item_id": "mug-1"})
    assert r.status_code == 200 and r.json()["brief"]["scene"]["palette"] == "cool ocean blue"
    listed = client.get("/v1/audiences", headers=h).json()
    assert [a["name"] for a in listed] == ["City runner"]


def test_clicks_on_a_look_bring_more_of_it(studio: Any) -> None:
    client, h = studio
    admin = auth(ADMIN_KEY)
    client.post("/v1/identify", headers=admin, json={"customer_id": "C-1"})
    r = client.put("/v1/customers/C-1/consents", headers=admin, json={"marketing": True})
    assert r.status_code == 200, r.text
    before = client.post("/v1/copy", headers=h, json={"customer_id": "C-1",
                                                      "item_id": "tote-1"}).json()["brief"]
    r = client.post("/v1/creatives", headers=h, json={"customer_id": "C-1", "item_id": "tote-1",
                                                      "variants": 2})
    assert r.status_code == 202, r.text
    job = _wait_job(client, h, r.json()["job_id"])
    second = job["creatives"][1]
    palette = second["brief"]["scene"]["palette"]
    assert palette != before["scene"]["palette"]
    for kind, n in (("impression", 10), ("click", 4)):
        client.post(f"/v1/creatives/{second['id']}/events", headers=h,
                    json={"type": kind, "count": n})
    after = client.post("/v1/copy", headers=h, json={"customer_id": "C-1",
                                                     "item_id": "tote-1"}).json()["brief"]
    assert after["scene"]["palette"] == palette
    assert any("clicks on creatives" in r for r in after["reasons"])
    # erasing the customer takes their creatives with them
    assert client.delete("/v1/customers/C-1", headers=admin).status_code == 200
    assert client.get(f"/v1/creatives/{second['id']}", headers=h).status_code == 404


class _CountingGenerator:
    """The real generator, counting its diffusion calls (a copy edit must make none)."""

    def __init__(self, gen: Any) -> None:
        self.gen, self.calls = gen, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gen, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.gen.generate(*args, **kwargs)


def test_edited_copy_is_laid_out_again(studio: Any) -> None:
    import io

    client, h = studio
    r = client.post("/v1/creatives", headers=h, json={
        "persona": COSY, "item_id": "tote-1", "variants": 1, "formats": ["square", "email"]})
    c = _wait_job(client, h, r.json()["job_id"])["creatives"][0]
    assert c["version"] == 1 and c["previous_versions"] == []

    def get(url: str) -> bytes:
        r = client.get(url.replace("http://testserver", ""))
        assert r.status_code == 200, r.text
        return r.content

    before = {(f, e): get(c["formats"][f][f"{e}_url"]) for f in c["formats"]
              for e in ("png", "webp")}
    svc = client.app.state.runtime.creatives
    counting = _CountingGenerator(svc.generator())
    svc._generator = counting
    headline = "Carry autumn with the Everly tote"
    r = client.patch(f"/v1/creatives/{c['id']}", headers=h, json={"copy": {"headline": headline}})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["version"] == 2 and new["copy"]["headline"] == headline
    assert counting.calls == 0  # the stored background, laid out again: no diffusion
    for (fmt, ext), old in before.items():
        url = new["formats"][fmt][f"{ext}_url"]
        assert url.endswith(f".{ext}?v=2")  # a new address: the old one is cached a day
        assert get(url) != old
        # the previous layout stays retrievable, byte for byte
        assert get(new["previous_versions"][0]["images"][fmt][f"{ext}_url"]) == old
    assert new["previous_versions"][0]["copy"]["headline"] == c["copy"]["headline"]
    # same background and seed: only the text area changed
    a = np.asarray(Image.open(io.BytesIO(before[("square", "png")])), np.int16)
    b = np.asarray(Image.open(io.BytesIO(get(new["formats"]["square"]["png_url"]))), np.int16)
    same = (np.abs(a - b).max(axis=2) == 0).mean()
    assert 0.5 < same < 1.0, same
    # the current version is what GET returns; unknown versions are precise 404s / 422s
    got = client.get(f"/v1/creatives/{c['id']}", headers=h).json()
    assert got["version"] == 2 and got["formats"]["square"]["png_url"].endswith("?v=2")
    base = f"/v1/creatives/{c['id']}/image/square.png"
    assert client.get(base).content == get(new["formats"]["square"]["png_url"])
    assert client.get(base + "?v=7").status_code == 404
    assert client.get(base + "?v=0").status_code == 422
    # only the (undrawn) subject line changed: no new layout
    r = client.patch(f"/v1/creatives/{c['id']}", headers=h,
                     json={"copy": {"subject": "Autumn, carried"}})
    assert r.status_code == 200 and r.json()["version"] == 2
    # a creative whose background file is gone (made before backgrounds were kept): the
    # same prompt and seed are generated again, once
    (svc.out_dir / c["id"] / "background.png").unlink()
    r = client.patch(f"/v1/creatives/{c['id']}", headers=h,
                     json={"copy": {"headline": "Carry the Everly tote all autumn"}})
    assert r.status_code == 200 and r.json()["version"] == 3 and counting.calls == 1
    assert [v["version"] for v in r.json()["previous_versions"]] == [1, 2]


def test_segments_read_a_bounded_number_of_profiles(app_factory: Any, sqlite_url: str) -> None:
    # segments need the preference model, which comes with the search runtime
    client = app_factory(sqlite_url, search_enabled=True, chat_enabled=False)
    admin = auth(ADMIN_KEY)
    assert client.put("/v1/items", json=ITEMS, headers=admin).status_code == 200
    rt = client.app.state.runtime
    rt.search.wait_ready()
    assert rt.prefs.ready.wait(300)
    h = auth(new_key(client, "marketer"))
    for i in range(12):  # 8 like blue; 6 like canvas; of the blue ones, 4 like canvas
        cid = f"S-{i}"
        assert client.post("/v1/identify", headers=admin,
                           json={"customer_id": cid}).status_code == 200
        prefs = [{"attribute": "color=blue", "value": 1.0}] if i % 3 else []
        if i % 2:
            prefs.append({"attribute": "material=canvas", "value": 1.0})
        if prefs:
            r = client.patch(f"/v1/customers/{cid}/preferences", headers=admin,
                             json={"set": prefs})
            assert r.status_code == 200, r.text
    r = client.post("/v1/segments", headers=h, json={"name": "Blue", "rules": [
        {"attribute": "color=blue", "kinds": ["stated"]}]})
    assert r.status_code == 201, r.text
    seg = r.json()
    # a store below the cap: every profile read, the exact answer
    assert (seg["size"], seg["size_estimated"]) == (8, False)
    svc = client.app.state.runtime.creatives
    from app.creatives.models import AudienceRow

    with svc.sessions() as db:
        scan = svc.scan_segment(db, seg["definition"])
        # every profile with a preference state (at least the 10 given preferences) read
        assert len(scan.members) == 8 and scan.scanned == scan.total >= 10
        aud = svc.segment_audience(db, db.get(AudienceRow, seg["id"]))
    shares = {p.attribute: p.confidence for p in aud.prefs if p.kind == "segment"}
    assert "color=blue" in shares and "material=canvas" in shares  # 4 of 8 members
    assert aud.size == 8 and aud.sample is None
    # above the cap: a uniform sample of at most that many profiles is read, and the brief
    # says the segment's preferences are estimates
    svc.settings = svc.settings.model_copy(update={"creatives_segment_sample": 5})
    with svc.sessions() as db:
        scan = svc.scan_segment(db, seg["definition"])
    assert (scan.scanned, scan.sampled) == (5, True) and scan.total >= 10
    assert scan.size == round(len(scan.members) / 5 * scan.total)
    r = client.post("/v1/copy", headers=h, json={"segment_id": seg["id"], "item_id": "mug-1"})
    assert r.status_code == 200, r.text
    brief = r.json()["brief"]
    assert brief["audience"]["sample"] == 5
    assert any("random sample of 5 profiles" in x for x in brief["reasons"])
    listed = client.get("/v1/audiences", headers=h).json()
    assert [a["size_estimated"] for a in listed] == [True]
