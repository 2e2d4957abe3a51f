// The marketer studio: pick an audience and a product, generate variants (a job), watch
// progress, compare them with their reasons, edit copy, approve, download, see CTR.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var kind = "persona";
  var keyInput = $("key");
  if (!keyInput.value || keyInput.value.indexOf("{{") === 0) {
    keyInput.value = sessionStorage.getItem("tailor-studio-key") || "";
  }
  keyInput.addEventListener("change", function () {
    sessionStorage.setItem("tailor-studio-key", keyInput.value); loadLists();
  });

  function api(method, path, body) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + keyInput.value } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var e = (data && data.error) || {};
          var detail = Array.isArray(e.details) ? ": " + e.details.map(function (d) {
            return typeof d === "string" ? d : (d.msg || JSON.stringify(d)); }).join("; ") : "";
          throw new Error((e.message || ("HTTP " + r.status)) + detail);
        }
        return data;
      });
    });
  }
  function status(text) { $("status").textContent = text; }

  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () {
      kind = b.dataset.kind;
      document.querySelectorAll(".tabs button").forEach(function (x) {
        x.classList.toggle("on", x === b); });
      document.querySelectorAll("[data-pane]").forEach(function (p) {
        p.hidden = p.dataset.pane !== kind; });
    });
  });

  function option(select, value, text) {
    var o = document.createElement("option"); o.value = value; o.textContent = text;
    select.appendChild(o);
  }
  function loadLists() {
    if (!keyInput.value) { status("Enter a marketer API key."); return; }
    fetch("/v1/items?limit=200").then(function (r) { return r.json(); }).then(function (page) {
      var sel = $("item"); sel.textContent = "";
      (page.items || []).forEach(function (it) { option(sel, it.id, it.title + " (" + it.id + ")"); });
    });
    api("GET", "/v1/audiences").then(function (list) {
      var seg = $("segment-id"), per = $("persona-id");
      seg.textContent = ""; per.textContent = "";
      option(per, "", "New persona below");
      list.forEach(function (a) {
        if (a.kind === "segment") option(seg, a.id, a.name + " (" + a.size + " people)");
        else option(per, a.id, a.name);
      });
    }).catch(function (e) { status(e.message); });
  }

  function parsePrefs(text) {
    return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean)
      .map(function (s) {
        var neg = s.charAt(0) === "-";
        return { attribute: neg ? s.slice(1).trim() : s, value: neg ? -1 : 1, confidence: 0.8 };
      });
  }

  $("segment-save").addEventListener("click", function () {
    api("POST", "/v1/segments", { name: $("segment-rule").value, rules: [{
      attribute: $("segment-rule").value, min_confidence: Number($("segment-conf").value) }] })
      .then(function (s) { status("Segment saved: " + s.size + " people."); loadLists(); })
      .catch(function (e) { status(e.message); });
  });

  function target() {
    var t = { item_id: $("item").value, brief: $("brief").value, channel: $("channel").value };
    if (kind === "customer") t.customer_id = $("customer-id").value;
    else if (kind === "segment") t.segment_id = $("segment-id").value;
    else if ($("persona-id").value) t.persona_id = $("persona-id").value;
    else t.persona = { name: $("persona-name").value, preferences: parsePrefs($("persona-prefs").value) };
    return t;
  }

  $("generate").addEventListener("click", function () {
    var body = target();
    body.formats = Array.prototype.map.call(
      document.querySelectorAll(".formats input:checked"), function (c) { return c.value; });
    body.variants = Number($("variants").value);
    $("generate").disabled = true;
    status("Queuing…");
    api("POST", "/v1/creatives", body).then(function (job) { poll(job.job_id); })
      .catch(function (e) { status(e.message); $("generate").disabled = false; });
  });

  function poll(jobId) {
    var bar = $("progress"); bar.hidden = false;
    api("GET", "/v1/jobs/" + jobId).then(function (job) {
      var p = job.progress || {};
      bar.max = p.total || 1; bar.value = p.done || 0;
      status("Job " + job.state + ": " + (p.done || 0) + " of " + (p.total || "?") + " variants");
      render(job.creatives);
      if (job.state === "queued" || job.state === "running") {
        setTimeout(function () { poll(jobId); }, 700);
      } else {
        $("generate").disabled = false; bar.hidden = true;
        if (job.error) status("Job failed: " + job.error);
      }
    }).catch(function (e) { status(e.message); $("generate").disabled = false; });
  }

  function render(creatives) {
    var view = $("variants-view"), tpl = $("variant-tpl");
    creatives.forEach(function (c) {
      var el = view.querySelector('[data-id="' + c.id + '"]');
      if (!el) {
        el = tpl.content.firstElementChild.cloneNode(true);
        el.dataset.id = c.id; view.appendChild(el); wire(el, c.id);
      }
      fill(el, c);
    });
  }

  function fill(el, c) {
    var first = Object.keys(c.formats)[0];
    var img = el.querySelector("img");
    var src = c.formats[first].png_url.replace(/^https?:\/\/[^/]+/, "");
    if (img.getAttribute("src") !== src) { img.src = src; }
    img.alt = "Variant " + (c.variant + 1) + ": " + c.copy.headline;
    el.querySelectorAll("[data-field]").forEach(function (f) {
      if (document.activeElement !== f) f.value = c.copy[f.dataset.field] || "";
    });
    el.querySelector(".badge").textContent = "Variant " + (c.variant + 1) + " · " + c.status +
      " · seed " + c.seed + (c.version > 1 ? " · layout " + c.version : "");
    var dl = el.querySelector(".downloads"); dl.textContent = "";
    Object.keys(c.formats).forEach(function (fmt) {
      ["png", "webp"].forEach(function (ext) {
        var a = document.createElement("a");
        a.href = c.formats[fmt][ext + "_url"].replace(/^https?:\/\/[^/]+/, "");
        a.download = c.id + "-" + fmt + (c.version > 1 ? "-v" + c.version : "") + "." + ext;
        a.textContent = fmt + "." + ext;
        dl.appendChild(a);
      });
    });
    var stats = el.querySelector(".stats"); stats.textContent = "";
    [["Impressions", c.impressions], ["Clicks", c.clicks],
     ["CTR", c.ctr === null ? "–" : (100 * c.ctr).toFixed(1) + "%"]].forEach(function (kv) {
      var dt = document.createElement("dt"); dt.textContent = kv[0];
      var dd = document.createElement("dd"); dd.textContent = kv[1];
      stats.appendChild(dt); stats.appendChild(dd);
    });
    var reasons = el.querySelector(".reasons"); reasons.textContent = "";
    c.reasons.forEach(function (r) {
      var li = document.createElement("li"); li.textContent = r; reasons.appendChild(li); });
    var snap = el.querySelector(".snapshot"); snap.textContent = "";
    (c.brief.profile_snapshot || []).forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.attribute + " (" + p.kind + ", " + p.confidence.toFixed(2) + ")";
      snap.appendChild(li);
    });
  }

  function wire(el, id) {
    var err = el.querySelector(".error");
    // One request at a time per card: saving copy lays the images out again (a second or
    // two), and an approval clicked meanwhile must land after it, not be undone by it.
    var queue = Promise.resolve();
    function patch(body) {
      queue = queue.then(function () {
        return api("PATCH", "/v1/creatives/" + id, body)
          .then(function (c) { err.textContent = ""; fill(el, c); })
          .catch(function (e) { err.textContent = e.message; });
      });
    }
    el.querySelector('[data-act="save"]').addEventListener("click", function () {
      var copy = {};
      el.querySelectorAll("[data-field]").forEach(function (f) { copy[f.dataset.field] = f.value; });
      patch({ copy: copy });
    });
    el.querySelector('[data-act="approve"]').addEventListener("click", function () {
      patch({ approved: true });
    });
  }

  loadLists();
})();
