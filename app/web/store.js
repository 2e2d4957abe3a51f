/* Larkfield & Co. storefront. Plain JS, no build step.
 *
 * Talks to the Tailor API:
 *   GET /v1/items?limit=500&offset=N     -> {items, total, limit, offset}
 *   GET /v1/search?q=...&k=24            -> falls back to a client-side filter on error
 *   GET /v1/items/{id}/similar?k=8       -> "Similar items" row, hidden on error
 * Events are optional: window.Tailor.track(kind, itemId) is called when present.
 * Hooks for the chat widget: window.TailorStore.openItem(id) and the
 * "tailor:open-item" DOM event ({detail: {id}}) open a product's detail view.
 */
(function () {
  "use strict";

  var PAGE = 500;
  var MAX_ITEMS = 5000;
  var state = { items: [], byId: new Map(), category: "", sub: "", tag: "", query: "", results: null, sort: "featured" };
  var $ = function (id) { return document.getElementById(id); };
  var el = {
    grid: $("grid"), status: $("status"), title: $("view-title"), cats: $("cat-list"),
    subcats: $("subcats"), empty: $("empty"), form: $("search-form"), q: $("q"), sort: $("sort"),
    dialog: $("detail"), similar: $("similar"), similarList: $("similar-list"),
  };
  var lastFocus = null;
  var similarToken = 0;
  var searchToken = 0;

  // ---------------------------------------------------------------- helpers
  function track(kind, itemId) {
    try {
      if (window.Tailor && typeof window.Tailor.track === "function") window.Tailor.track(kind, itemId);
    } catch (err) { /* analytics must never break the shop */ }
  }

  function money(value, currency) {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: currency || "USD" }).format(value);
    } catch (err) {
      return "$" + Number(value).toFixed(2);
    }
  }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function topLevel(item) { return String(item.category || "").split(">")[0].trim(); }
  function secondLevel(item) { return (String(item.category || "").split(">")[1] || "").trim(); }
  function humanize(key) { var s = key.replace(/_/g, " "); return s.charAt(0).toUpperCase() + s.slice(1); }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (res) {
      if (!res.ok) throw new Error(url + " -> " + res.status);
      return res.json();
    });
  }

  // Accepts the shapes an API might reasonably return: a list, or {items|results|hits: [...]},
  // each entry an Item, {item: Item, score}, or just {id | item_id}.
  function normalizeItems(data) {
    var list = Array.isArray(data) ? data
      : (data && (data.items || data.results || data.hits || data.data)) || [];
    var out = [];
    list.forEach(function (entry) {
      if (!entry) return;
      var raw = entry.item && typeof entry.item === "object" ? entry.item : entry;
      var id = typeof entry === "string" ? entry : raw.id || entry.item_id || entry.id;
      var known = state.byId.get(id);
      if (known) out.push(known);
      else if (raw && raw.id && raw.title) out.push(raw);
    });
    return out;
  }

  // ---------------------------------------------------------------- catalog
  function loadCatalog() {
    renderSkeleton();
    var items = [];
    function page(offset) {
      return getJSON("/v1/items?limit=" + PAGE + "&offset=" + offset).then(function (data) {
        var batch = Array.isArray(data) ? data : (data && data.items) || [];
        items = items.concat(batch);
        var total = data && typeof data.total === "number" ? data.total : items.length;
        if (batch.length && items.length < total && items.length < MAX_ITEMS) return page(items.length);
        return items;
      });
    }
    return page(0).then(function (all) {
      state.items = all;
      state.byId = new Map(all.map(function (it) { return [it.id, it]; }));
      renderCategories();
      readLocation();
      render();
      openFromHash();
    }).catch(function (err) {
      el.grid.setAttribute("aria-busy", "false");
      el.grid.innerHTML = "";
      el.status.textContent = "We could not load the shop just now.";
      var retry = h("button", { type: "button", class: "btn", text: "Try again" });
      retry.addEventListener("click", loadCatalog);
      el.grid.appendChild(h("li", { class: "empty" }, [retry]));
      if (window.console) console.warn("catalog load failed", err);
    });
  }

  function renderSkeleton() {
    el.grid.setAttribute("aria-busy", "true");
    el.grid.innerHTML = "";
    for (var i = 0; i < 8; i++) el.grid.appendChild(h("li", { class: "skeleton", "aria-hidden": "true" }));
  }

  function renderCategories() {
    var counts = new Map();
    state.items.forEach(function (it) {
      var top = topLevel(it);
      if (top) counts.set(top, (counts.get(top) || 0) + 1);
    });
    var names = Array.from(counts.keys()).sort();
    el.cats.innerHTML = "";
    el.cats.appendChild(h("li", null, [h("button", { type: "button", class: "cat", "data-cat": "", text: "All" })]));
    names.forEach(function (name) {
      el.cats.appendChild(h("li", null, [h("button", { type: "button", class: "cat", "data-cat": name, text: name })]));
    });
  }

  // ---------------------------------------------------------------- listing
  function currentList() {
    var list;
    if (state.query) {
      list = state.results || [];
    } else {
      list = state.items.filter(function (it) {
        if (it.active === false) return false;
        if (state.category && topLevel(it) !== state.category) return false;
        if (state.sub && secondLevel(it) !== state.sub) return false;
        if (state.tag && (it.tags || []).indexOf(state.tag) < 0) return false;
        return true;
      });
    }
    return sortList(list);
  }

  function sortList(list) {
    var copy = list.slice();
    if (state.sort === "price-asc") copy.sort(function (a, b) { return a.price - b.price; });
    else if (state.sort === "price-desc") copy.sort(function (a, b) { return b.price - a.price; });
    else if (state.sort === "name") copy.sort(function (a, b) { return String(a.title).localeCompare(b.title); });
    else if (!state.query) {
      // Featured: in-stock bestsellers first, out-of-stock last, otherwise catalog order.
      var rank = function (it) {
        return (it.in_stock !== false ? 0 : 2) + ((it.tags || []).indexOf("bestseller") >= 0 ? 0 : 1);
      };
      copy = copy.map(function (it, i) { return [rank(it), i, it]; })
        .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; })
        .map(function (x) { return x[2]; });
      if (!state.category) copy = interleave(copy);
    }
    return copy;
  }

  // On mixed views, deal categories out like cards so the first screen shows the whole shop.
  function interleave(list) {
    var groups = new Map();
    list.forEach(function (it) {
      var k = topLevel(it);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(it);
    });
    var queues = Array.from(groups.values());
    var out = [];
    for (var i = 0; out.length < list.length; i++) {
      queues.forEach(function (q) { if (i < q.length) out.push(q[i]); });
    }
    return out;
  }

  function card(item) {
    var out = item.in_stock === false;
    var isNew = (item.tags || []).indexOf("new") >= 0;
    var img = h("img", {
      src: item.image_url || "", alt: item.title, width: "400", height: "400", loading: "lazy", decoding: "async",
    });
    img.addEventListener("error", function () { img.style.visibility = "hidden"; }, { once: true });
    var link = h("a", {
      class: "card" + (out ? " is-out" : ""), href: "#p/" + encodeURIComponent(item.id), "data-id": item.id,
    }, [
      img,
      out ? h("span", { class: "badge badge-out", text: "Out of stock" })
        : isNew ? h("span", { class: "badge badge-new", text: "New" }) : null,
      h("div", { class: "card-body" }, [
        h("p", { class: "card-brand", text: item.brand || "" }),
        h("h3", { class: "card-title", text: item.title }),
        h("p", { class: "card-price", text: money(item.price, item.currency) }),
      ]),
    ]);
    return h("li", null, [link]);
  }

  function render() {
    var list = currentList();
    el.grid.setAttribute("aria-busy", "false");
    el.grid.innerHTML = "";
    var frag = document.createDocumentFragment();
    list.forEach(function (it) { frag.appendChild(card(it)); });
    el.grid.appendChild(frag);
    el.empty.hidden = list.length > 0;

    var heading = state.query ? "Results for “" + state.query + "”"
      : state.sub ? state.sub
      : state.category || (state.tag ? tagLabel(state.tag) : "All products");
    el.title.textContent = heading;
    var n = list.length;
    el.status.textContent = n + (n === 1 ? " product" : " products");
    // The welcome banner belongs to the front page; results should start near the top.
    $("hero").hidden = Boolean(state.query || state.category);

    Array.prototype.forEach.call(el.cats.querySelectorAll(".cat"), function (b) {
      var on = !state.query && b.getAttribute("data-cat") === state.category;
      if (on) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".chip"), function (b) {
      b.setAttribute("aria-pressed", String(!state.query && b.getAttribute("data-tag") === state.tag));
    });
    renderSubcats();
  }

  function tagLabel(tag) {
    var chip = document.querySelector('.chip[data-tag="' + tag + '"]');
    return chip ? chip.textContent : humanize(tag);
  }

  function renderSubcats() {
    el.subcats.innerHTML = "";
    if (!state.category || state.query) { el.subcats.hidden = true; return; }
    var subs = [];
    state.items.forEach(function (it) {
      var s = secondLevel(it);
      if (topLevel(it) === state.category && s && subs.indexOf(s) < 0) subs.push(s);
    });
    if (subs.length < 2) { el.subcats.hidden = true; return; }
    [""].concat(subs).forEach(function (s) {
      el.subcats.appendChild(h("button", {
        type: "button", "data-sub": s, "aria-pressed": String(state.sub === s), text: s || "All " + state.category,
      }));
    });
    el.subcats.hidden = false;
  }

  // ---------------------------------------------------------------- search
  function clientSearch(q) {
    var terms = q.toLowerCase().split(/\s+/).filter(Boolean);
    var scored = [];
    state.items.forEach(function (it) {
      var attrs = Object.keys(it.attributes || {}).map(function (k) { return k + " " + it.attributes[k].join(" "); }).join(" ");
      var title = String(it.title).toLowerCase();
      var hay = [title, it.brand, it.category, attrs, (it.tags || []).join(" "), it.description].join(" ").toLowerCase();
      if (!terms.every(function (t) { return hay.indexOf(t) >= 0; })) return;
      var score = terms.reduce(function (s, t) { return s + (title.indexOf(t) >= 0 ? 2 : 0); }, 0);
      scored.push([score, it]);
    });
    scored.sort(function (a, b) { return b[0] - a[0]; });
    return scored.slice(0, 48).map(function (x) { return x[1]; });
  }

  function runSearch(q) {
    state.query = q;
    state.category = ""; state.sub = ""; state.tag = "";
    if (!q) { state.results = null; render(); return; }
    var token = ++searchToken;
    el.status.textContent = "Searching…";
    getJSON("/v1/search?q=" + encodeURIComponent(q) + "&k=24").then(function (data) {
      if (token !== searchToken) return;
      state.results = normalizeItems(data);
      render();
    }).catch(function () {
      if (token !== searchToken) return;
      state.results = clientSearch(q);  // search service down: match the loaded catalog
      render();
    });
  }

  // ---------------------------------------------------------------- detail
  function openItem(id, opts) {
    var item = state.byId.get(id);
    if (!item) return;
    if (!el.dialog.open) lastFocus = document.activeElement;
    state.openId = item.id;
    var img = $("detail-img");
    img.src = item.image_url || "";
    img.alt = item.title;
    $("detail-brand").textContent = item.brand || "";
    $("detail-title").textContent = item.title;
    $("detail-category").textContent = String(item.category || "").split(">").map(function (s) { return s.trim(); }).join(" › ");
    $("detail-price").textContent = money(item.price, item.currency);
    var stock = $("detail-stock");
    stock.className = "stock";
    // The public item view says in stock or not; the count is for the shop's staff only.
    if (item.in_stock === false) { stock.textContent = "Out of stock"; stock.classList.add("is-out"); }
    else stock.textContent = "In stock";
    $("detail-desc").textContent = item.description || "";

    var dl = $("detail-attrs");
    dl.innerHTML = "";
    Object.keys(item.attributes || {}).forEach(function (k) {
      dl.appendChild(h("dt", { text: humanize(k) }));
      dl.appendChild(h("dd", { text: (item.attributes[k] || []).join(", ") }));
    });
    var tags = $("detail-tags");
    tags.innerHTML = "";
    (item.tags || []).forEach(function (t) { tags.appendChild(h("li", { text: humanize(t).replace(/-/g, " ") })); });
    tags.hidden = !(item.tags || []).length;

    loadSimilar(item.id);
    if (!el.dialog.open) {
      if (typeof el.dialog.showModal === "function") el.dialog.showModal();
      else el.dialog.setAttribute("open", "");
    }
    el.dialog.scrollTop = 0;
    $("detail-close").focus();
    var hash = "#p/" + encodeURIComponent(item.id);
    if (location.hash !== hash && !(opts && opts.fromHash)) history.pushState(null, "", hash);
    track("view", item.id);
  }

  function closeDetail() {
    if (el.dialog.open && typeof el.dialog.close === "function") el.dialog.close();
    else el.dialog.removeAttribute("open");
  }

  function onDialogClosed() {
    similarToken++;
    state.openId = null;
    if (/^#p\//.test(location.hash)) history.replaceState(null, "", location.pathname + location.search);
    if (lastFocus && typeof lastFocus.focus === "function" && document.contains(lastFocus)) lastFocus.focus();
  }

  function loadSimilar(id) {
    var token = ++similarToken;
    el.similar.hidden = true;
    el.similarList.innerHTML = "";
    getJSON("/v1/items/" + encodeURIComponent(id) + "/similar?k=8").then(function (data) {
      if (token !== similarToken) return;
      var list = normalizeItems(data).filter(function (it) { return it.id !== id; }).slice(0, 8);
      if (!list.length) return;
      list.forEach(function (it) {
        var b = h("button", { type: "button", class: "mini", "data-id": it.id }, [
          h("img", { src: it.image_url || "", alt: it.title, width: "150", height: "150", loading: "lazy" }),
          h("span", { text: it.title }),
          h("span", { class: "mini-price", text: money(it.price, it.currency) }),
        ]);
        el.similarList.appendChild(h("li", null, [b]));
      });
      el.similar.hidden = false;
    }).catch(function () { /* no row rather than an error */ });
  }

  // ---------------------------------------------------------------- routing
  function openFromHash() {
    var m = /^#p\/(.+)$/.exec(location.hash);
    var id = m && decodeURIComponent(m[1]);
    if (id && !(el.dialog.open && state.openId === id)) openItem(id, { fromHash: true });
    else if (!id && el.dialog.open) closeDetail();
  }

  function readLocation() {
    var params = new URLSearchParams(location.search);
    var q = (params.get("q") || "").trim();
    if (q) { el.q.value = q; runSearch(q); }
  }

  // ---------------------------------------------------------------- wiring
  el.grid.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a.card");
    if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    var id = a.getAttribute("data-id");
    track("click", id);
    openItem(id);
  });

  el.similarList.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button.mini");
    if (!b) return;
    var id = b.getAttribute("data-id");
    track("click", id);
    openItem(id);
  });

  el.cats.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button.cat");
    if (!b) return;
    state.category = b.getAttribute("data-cat") || "";
    state.sub = ""; state.tag = ""; state.query = ""; state.results = null; el.q.value = "";
    render();
  });

  el.subcats.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button[data-sub]");
    if (!b) return;
    state.sub = b.getAttribute("data-sub") || "";
    render();
  });

  document.querySelector(".quick").addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button.chip");
    if (!b) return;
    var tag = b.getAttribute("data-tag");
    state.tag = state.tag === tag ? "" : tag;
    state.category = ""; state.sub = ""; state.query = ""; state.results = null; el.q.value = "";
    render();
    $("view-title").scrollIntoView({ behavior: "smooth", block: "start" });
  });

  el.form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = el.q.value.trim();
    var url = q ? "?q=" + encodeURIComponent(q) : location.pathname;
    history.replaceState(null, "", url);
    runSearch(q);
  });

  el.q.addEventListener("search", function () { if (!el.q.value) runSearch(""); });
  el.sort.addEventListener("change", function () { state.sort = el.sort.value; render(); });
  $("reset").addEventListener("click", function () {
    state.category = ""; state.sub = ""; state.tag = ""; state.query = ""; state.results = null; el.q.value = "";
    history.replaceState(null, "", location.pathname);
    render();
  });
  $("detail-close").addEventListener("click", closeDetail);
  el.dialog.addEventListener("close", onDialogClosed);
  el.dialog.addEventListener("click", function (ev) { if (ev.target === el.dialog) closeDetail(); });
  window.addEventListener("hashchange", openFromHash);
  window.addEventListener("popstate", openFromHash);
  document.addEventListener("tailor:open-item", function (ev) {
    if (ev.detail && ev.detail.id) openItem(String(ev.detail.id));
  });

  window.TailorStore = {
    openItem: function (id) { openItem(String(id)); },
    items: function () { return state.items.slice(); },
    search: function (q) { el.q.value = q || ""; runSearch((q || "").trim()); },
  };

  loadCatalog();
})();
