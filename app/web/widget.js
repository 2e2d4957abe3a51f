/* Tailor chat widget. Plain JS, no build step, no dependencies.
 *
 * Embed on any page:
 *   <script src="https://tailor.example.com/widget.js" data-key="tw_..." defer></script>
 * Optional attributes: data-accent="#2f4a3a" (else the page's <meta name="theme-color">),
 * data-title="Shopping assistant", data-greeting="Hi! ...".
 *
 * The API base is the origin of this script's src. Everything lives in one shadow root so
 * the host page's CSS and ours cannot touch each other.
 *
 * API (see docs/widget.md):
 *   POST /v1/widget/session  -> {visitor_id, visitor_token}; the token is kept in localStorage
 *   POST /v1/chat            -> text/event-stream: session, token* (retract), cards, question, offer, done|error
 *   POST /v1/events          <- impression, click, add_to_cart, dismiss (+ host page view/click)
 *
 * Host hooks: window.Tailor = {track, open, close, send, visitorId} (merged into an existing
 * window.Tailor); a card click opens the product with window.Tailor.openProduct(id) if the host
 * defined it, else window.TailorStore.openItem(id), else a "tailor:open-item" DOM event.
 * Add to cart dispatches "tailor:add-to-cart" ({detail: {id, item}}) on document.
 */
(function () {
  "use strict";

  if (window.__tailorWidgetLoaded) return;  // the snippet pasted twice must not mean two bubbles
  window.__tailorWidgetLoaded = true;

  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-key]');
  var KEY = (script && script.getAttribute("data-key")) || "";
  if (/^\{\{.*\}\}$/.test(KEY)) KEY = "";  // an unfilled template placeholder
  var BASE = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var TITLE = (script && script.getAttribute("data-title")) || "Shopping assistant";
  var GREETING = (script && script.getAttribute("data-greeting")) ||
    "Hi! I can help you find something \u2014 what are you looking for?";
  var TOKEN_KEY = "tailor.visitor_token";
  var VISITOR_KEY = "tailor.visitor_id";
  var SESSION_KEY = "tailor.session_id";

  // ------------------------------------------------------------------ small helpers
  function store(kind) {
    // Private modes and sandboxed frames can throw on storage access: fall back to memory.
    var mem = {};
    return {
      get: function (k) { try { return window[kind].getItem(k); } catch (e) { return mem[k] || null; } },
      set: function (k, v) { try { window[kind].setItem(k, v); } catch (e) { mem[k] = v; } },
      del: function (k) { try { window[kind].removeItem(k); } catch (e) { delete mem[k]; } },
    };
  }
  var local = store("localStorage");
  var perTab = store("sessionStorage");

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") {
      try { return crypto.randomUUID(); } catch (e) { /* insecure context: fall through */ }
    }
    var b = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var hex = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;  // model text is only ever set as text
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function svg(paths, size) {
    var ns = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(ns, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", size || 22);
    s.setAttribute("height", size || 22);
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var p = document.createElementNS(ns, "path");
      p.setAttribute("d", d);
      p.setAttribute("fill", "none");
      p.setAttribute("stroke", "currentColor");
      p.setAttribute("stroke-width", "2");
      p.setAttribute("stroke-linecap", "round");
      p.setAttribute("stroke-linejoin", "round");
      s.appendChild(p);
    });
    return s;
  }
  var ICON_CHAT = ["M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z", "M8.5 12h.01M12 12h.01M15.5 12h.01"];
  var ICON_CLOSE = ["M6 6l12 12M18 6 6 18"];
  var ICON_SEND = ["M4 12 20 4l-6 16-3-7-7-1z"];

  function money(value, currency) {
    var lang = document.documentElement.lang || navigator.language || "en-US";
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency || "USD" }).format(value);
    } catch (e) {
      return (currency ? currency + " " : "") + Number(value).toFixed(2);
    }
  }

  function safeUrl(raw) {
    if (!raw) return "";
    try {
      var u = new URL(String(raw), BASE + "/");  // relative image paths belong to the API origin
      return /^(https?|data):$/.test(u.protocol) ? u.href : "";
    } catch (e) { return ""; }
  }

  function localTime() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? "+" : "-";
    off = Math.abs(off);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
      sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }

  function timezone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined; } catch (e) { return undefined; }
  }

  function device() {
    var ua = navigator.userAgent || "";
    if (/iPad|Tablet|PlayBook|Silk/i.test(ua) || (/Android/i.test(ua) && !/Mobile/i.test(ua))) return "tablet";
    if ((navigator.userAgentData && navigator.userAgentData.mobile) || /Mobi|iPhone|iPod|Android/i.test(ua)) return "mobile";
    var w = window.innerWidth || 1024;
    return w <= 480 ? "mobile" : w <= 820 ? "tablet" : "desktop";
  }

  function page() { return String(location.href).slice(0, 2000); }

  // Contrast-aware accent: the host's theme colour may be light, so pick the ink to match.
  function accentColors() {
    var raw = (script && script.getAttribute("data-accent")) ||
      ((document.querySelector('meta[name="theme-color"]') || {}).content) || "#2f4a3a";
    var probe = document.createElement("span");
    probe.style.color = raw;
    if (!probe.style.color) raw = "#2f4a3a";
    var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(raw.trim());
    var ink = "#ffffff";
    if (m) {
      var hex = m[1].length === 3 ? m[1].replace(/(.)/g, "$1$1") : m[1];
      var c = [0, 2, 4].map(function (i) {
        var v = parseInt(hex.substr(i, 2), 16) / 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
      });
      var lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
      if (lum > 0.35) ink = "#1c1b19";
    }
    return { accent: raw, ink: ink };
  }

  // ------------------------------------------------------------------ the API
  var visitor = { id: local.get(VISITOR_KEY), token: local.get(TOKEN_KEY) };
  var sessionPromise = null;
  var chatSessionId = perTab.get(SESSION_KEY);

  function authHeaders(extra) {
    var hdrs = { Authorization: "Bearer " + KEY };
    if (visitor.token) hdrs["X-Visitor-Token"] = visitor.token;
    if (extra) Object.keys(extra).forEach(function (k) { hdrs[k] = extra[k]; });
    return hdrs;
  }

  // Past half its life the server re-issues the visitor token on any response; keep it.
  function keepToken(res) {
    var fresh = res && res.headers && res.headers.get("X-Visitor-Token-Refresh");
    if (fresh) { visitor.token = fresh; local.set(TOKEN_KEY, fresh); }
    return res;
  }

  function startSession(resume) {
    var body = resume && visitor.token ? { visitor_token: visitor.token } : {};
    return fetch(BASE + "/v1/widget/session", {
      method: "POST", headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "omit",
    }).then(function (res) {
      if (!res.ok) {
        // A token from another deployment (or a rotated secret): start a fresh visitor.
        if (resume && body.visitor_token && (res.status === 401 || res.status === 403 || res.status === 422)) {
          return startSession(false);
        }
        var err = new Error("widget session failed: " + res.status);
        err.status = res.status;
        throw err;
      }
      return res.json().then(function (data) {
        visitor.id = data.visitor_id;
        visitor.token = data.visitor_token;
        local.set(VISITOR_KEY, visitor.id);
        local.set(TOKEN_KEY, visitor.token);
        return visitor;
      });
    });
  }

  function ensureSession() {
    if (!KEY) return Promise.reject(new Error("no widget key"));
    if (!sessionPromise) {
      sessionPromise = startSession(true).catch(function (err) {
        sessionPromise = null;  // let the next call try again
        throw err;
      });
    }
    return sessionPromise;
  }

  // Events: impressions are batched for a moment; the rest go out at once. One retry on a
  // network error; a 4xx is a bug on our side and retrying would not help.
  var queue = [];
  var inflight = [];
  var flushTimer = null;

  function track(type, itemId, opts) {
    opts = opts || {};
    var ctx = { device: device(), channel: opts.channel || "web", page: page() };
    if (opts.placement) ctx.placement = opts.placement;
    var ev = { event_id: uuid(), type: String(type), context: ctx };
    if (itemId !== undefined && itemId !== null) ev.item_id = String(itemId);
    if (opts.value !== undefined) ev.value = opts.value;
    if (opts.sessionId || chatSessionId) ev.session_id = opts.sessionId || chatSessionId;
    queue.push(ev);
    var delay = type === "impression" ? 400 : 0;
    if (flushTimer && delay > 0) return;  // a flush is already on its way
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = setTimeout(function () { flush(); }, delay);
  }

  function postEvents(batch, keepalive) {
    return fetch(BASE + "/v1/events", {
      method: "POST", headers: authHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ events: batch }), keepalive: !!keepalive, credentials: "omit",
    }).then(keepToken);
  }

  function flush(keepalive) {
    if (flushTimer) { clearTimeout(flushTimer); flushTimer = null; }
    if (!queue.length) return Promise.all(inflight);
    var batch = queue.splice(0, 500);
    var p = ensureSession().then(function () {
      batch.forEach(function (ev) { ev.visitor_id = visitor.id; });
      return postEvents(batch, keepalive).catch(function () {
        return sleep(1000).then(function () { return postEvents(batch, keepalive); });
      });
    }).then(function (res) {
      if (res && !res.ok && window.console) console.warn("Tailor: events rejected", res.status);
    }).catch(function (err) {
      if (window.console) console.warn("Tailor: events not sent", err);
    });
    inflight.push(p);
    p.then(function () { inflight.splice(inflight.indexOf(p), 1); });
    if (queue.length) return flush(keepalive);
    return Promise.all(inflight);
  }

  window.addEventListener("pagehide", function () { flush(true); });

  // ------------------------------------------------------------------ styles
  var colors = accentColors();
  var CSS = [
    ":host{all:initial;--t-accent:" + colors.accent + ";--t-ink:" + colors.ink + ";",
    "--t-bg:#ffffff;--t-text:#23211e;--t-muted:#5f5a53;--t-line:#e4ded4;--t-soft:#f4f1ec;",
    "--t-focus:#c8643f;--t-font:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}",
    "*,*::before,*::after{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    ".vh{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    "button,input{font:inherit;color:inherit}",
    "button{cursor:pointer}",
    ":focus-visible{outline:3px solid var(--t-focus);outline-offset:2px}",
    ".bubble{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;",
    "border:0;background:var(--t-accent);color:var(--t-ink);display:grid;place-items:center;",
    "box-shadow:0 6px 20px rgba(0,0,0,.22),0 2px 4px rgba(0,0,0,.12);transition:transform .15s}",
    ".bubble:hover{transform:scale(1.06)}",
    ".bubble:focus-visible{outline-offset:4px}",
    ".panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:390px;max-width:calc(100vw - 40px);",
    "height:min(640px,calc(100vh - 40px));display:flex;flex-direction:column;background:var(--t-bg);color:var(--t-text);",
    "font:15px/1.45 var(--t-font);border-radius:18px;overflow:hidden;",
    "box-shadow:0 18px 50px rgba(0,0,0,.25),0 2px 8px rgba(0,0,0,.1);border:1px solid var(--t-line)}",
    ".head{display:flex;align-items:center;gap:10px;padding:14px 12px 14px 18px;background:var(--t-accent);color:var(--t-ink)}",
    ".head h2{margin:0;font-size:16px;font-weight:650;flex:1;letter-spacing:.01em}",
    ".head p{margin:0;font-size:12px;opacity:.85}",
    ".x{border:0;background:transparent;color:inherit;width:40px;height:40px;border-radius:50%;display:grid;place-items:center}",
    ".x:hover{background:rgba(255,255,255,.15)}",
    ".x:focus-visible{outline-color:currentColor;outline-offset:-3px}",
    ".log{flex:1;overflow-y:auto;padding:16px 14px 8px;display:flex;flex-direction:column;gap:10px;overscroll-behavior:contain}",
    ".msg{max-width:88%;padding:9px 13px;border-radius:16px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}",
    ".msg.user{align-self:flex-end;background:var(--t-accent);color:var(--t-ink);border-bottom-right-radius:5px}",
    ".msg.user.failed{opacity:.6;border:1px dashed var(--t-ink)}",
    ".msg.bot{align-self:flex-start;background:var(--t-soft);border-bottom-left-radius:5px}",
    ".turn{display:flex;flex-direction:column;gap:8px;align-self:stretch}",
    ".turn .msg.bot:empty{display:none}",
    ".note{align-self:center;font-size:13px;color:var(--t-muted);background:transparent;padding:2px 8px;text-align:center}",
    ".err{align-self:flex-start;max-width:88%;font-size:14px;color:#8a2f18;background:#fbeee9;border:1px solid #f0cfc3;",
    "padding:9px 12px;border-radius:12px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}",
    ".err button{border:1px solid currentColor;background:#fff;color:inherit;border-radius:999px;padding:3px 12px;font-size:13px}",
    ".typing{align-self:flex-start;background:var(--t-soft);border-radius:16px;border-bottom-left-radius:5px;padding:12px 14px;display:flex;gap:5px}",
    ".typing i{width:7px;height:7px;border-radius:50%;background:var(--t-muted);opacity:.35;animation:tb 1.2s infinite ease-in-out}",
    ".typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}",
    "@keyframes tb{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:.9;transform:translateY(-3px)}}",
    ".cards{list-style:none;margin:0;padding:2px 2px 8px;display:flex;gap:10px;overflow-x:auto;scroll-snap-type:x proximity;scrollbar-width:thin}",
    ".card{flex:0 0 236px;scroll-snap-align:start;background:#fff;border:1px solid var(--t-line);border-radius:14px;",
    "overflow:hidden;display:flex;flex-direction:column;transition:opacity .25s,transform .25s}",
    ".card.gone{opacity:0;transform:scale(.92)}",
    ".media{display:block;height:132px;background:var(--t-soft);cursor:pointer;position:relative;overflow:hidden}",
    ".media img{width:100%;height:100%;object-fit:cover;object-position:50% 30%;display:block}",
    ".badge{position:absolute;left:8px;top:8px;background:#fff;color:#8a2f18;font-size:11px;font-weight:600;padding:2px 8px;border-radius:999px}",
    ".cbody{padding:9px 11px 11px;display:flex;flex-direction:column;gap:3px;flex:1}",
    ".brand{margin:0;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--t-muted)}",
    ".title{all:unset;cursor:pointer;font-weight:620;font-size:14px;line-height:1.3;color:var(--t-text);border-radius:4px}",
    ".title:hover{text-decoration:underline}",
    ".title:focus-visible{outline:3px solid var(--t-focus);outline-offset:2px}",
    ".price{margin:0;font-weight:650;font-size:14px}",
    ".why{margin:2px 0 0;font-size:12.5px;color:var(--t-muted);line-height:1.35}",
    ".why b{color:var(--t-text);font-weight:600}",
    ".acts{display:flex;flex-wrap:wrap;gap:6px;margin-top:auto;padding-top:8px}",
    ".acts button{flex:1 1 auto;border-radius:999px;padding:6px 8px;font-size:13px;font-weight:560;white-space:nowrap}",
    ".add{border:1px solid var(--t-accent);background:var(--t-accent);color:var(--t-ink)}",
    ".add[disabled]{opacity:.55;cursor:default}",
    ".add.done{background:#fff;color:var(--t-accent)}",
    ".nope{border:1px solid var(--t-line);background:#fff;color:var(--t-text)}",
    ".nope:hover{border-color:var(--t-muted)}",
    ".ok{margin:4px 0 0;font-size:12px;color:#2b6a3f;min-height:0}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px}",
    ".chips button{border:1px solid var(--t-accent);background:#fff;color:var(--t-accent);border-radius:999px;padding:5px 12px;font-size:13px}",
    ".chips button:hover{background:var(--t-soft)}",
    ".offer{align-self:stretch;border:1px dashed var(--t-accent);border-radius:14px;padding:10px 12px;background:#fffdf8}",
    ".offer h3{margin:0 0 2px;font-size:14px}",
    ".offer p{margin:0 0 6px;font-size:13px}",
    ".offer code{font:600 14px ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--t-soft);padding:2px 8px;border-radius:6px;letter-spacing:.05em}",
    ".form{display:flex;gap:8px;padding:10px 12px 12px;border-top:1px solid var(--t-line);background:var(--t-bg)}",
    ".form input{flex:1;min-width:0;border:1px solid var(--t-line);border-radius:999px;padding:10px 15px;background:#fff;font-size:16px}",
    ".form input:focus-visible{outline:2px solid var(--t-focus);outline-offset:1px;border-color:var(--t-focus)}",
    ".send{border:0;background:var(--t-accent);color:var(--t-ink);width:44px;height:44px;border-radius:50%;display:grid;place-items:center;flex-shrink:0}",
    ".send[aria-disabled=true]{opacity:.55;cursor:progress}",
    ".foot{margin:0;padding:0 14px 8px;font-size:11px;color:var(--t-muted);text-align:center}",
    // Phone: the panel takes the whole screen, like a native chat.
    "@media (max-width:480px){.panel{inset:0;right:0;bottom:0;width:100vw;max-width:100vw;height:100%;",
    "max-height:100dvh;border-radius:0;border:0}.card{flex-basis:min(250px,72vw)}.bubble{right:16px;bottom:16px}}",
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}",
  ].join("\n");

  // ------------------------------------------------------------------ the UI
  var ui = {};
  var state = { opened: false, greeted: false, busy: false, stick: true };

  function build() {
    var host = h("div", { id: "tailor-widget", "data-tailor": "widget" });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    root.appendChild(h("style", { text: CSS }));

    ui.bubble = h("button", {
      type: "button", class: "bubble", "aria-label": "Open shopping assistant",
      "aria-haspopup": "dialog", "aria-expanded": "false", "aria-controls": "tailor-panel",
    }, [svg(ICON_CHAT, 28)]);

    ui.close = h("button", { type: "button", class: "x", "aria-label": "Close shopping assistant" }, [svg(ICON_CLOSE)]);
    ui.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions text",
      "aria-label": "Conversation", tabindex: "-1" });
    ui.input = h("input", {
      id: "tailor-input", type: "text", autocomplete: "off", enterkeyhint: "send", maxlength: "4000",
      placeholder: "Ask for ideas, sizes, gifts\u2026",
    });
    ui.send = h("button", { type: "submit", class: "send", "aria-label": "Send message" }, [svg(ICON_SEND, 20)]);
    ui.form = h("form", { class: "form", "aria-label": "Send a message" }, [
      h("label", { for: "tailor-input", class: "vh", text: "Message the shopping assistant" }),
      ui.input, ui.send,
    ]);
    ui.panel = h("div", {
      id: "tailor-panel", class: "panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "tailor-title", "aria-describedby": "tailor-sub", hidden: true,
    }, [
      h("div", { class: "head" }, [
        h("div", { style: "flex:1" }, [
          h("h2", { id: "tailor-title", text: TITLE }),
          h("p", { id: "tailor-sub", text: "Personal picks, powered by Tailor" }),
        ]),
        ui.close,
      ]),
      ui.log,
      ui.form,
    ]);
    root.appendChild(ui.bubble);
    root.appendChild(ui.panel);
    document.body.appendChild(host);
    ui.host = host;
    ui.root = root;

    ui.bubble.addEventListener("click", open);
    ui.log.addEventListener("scroll", function () { state.stick = nearBottom(); }, { passive: true });
    ui.close.addEventListener("click", function () { close(); });
    ui.panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" || ev.key === "Esc") { ev.preventDefault(); ev.stopPropagation(); close(); }
    });
    ui.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = ui.input.value;
      if (!text.trim() || state.busy) return;  // keep what was typed until it can be sent
      send(text);
    });
  }

  function open() {
    if (!ui.panel) return;
    state.opened = true;
    ui.panel.hidden = false;
    ui.bubble.hidden = true;
    ui.bubble.setAttribute("aria-expanded", "true");
    if (!state.greeted) {
      state.greeted = true;
      ui.log.appendChild(h("div", { class: "msg bot", text: GREETING }));
    }
    scrollDown(true);
    ui.input.focus();
  }

  function close() {
    if (!ui.panel || !state.opened) return;
    state.opened = false;
    ui.panel.hidden = true;
    ui.bubble.hidden = false;
    ui.bubble.setAttribute("aria-expanded", "false");
    ui.bubble.focus();
  }

  // Follow new content unless the customer scrolled up to read something earlier.
  function nearBottom() { return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80; }
  function scrollDown(force) { if (force || state.stick) ui.log.scrollTop = ui.log.scrollHeight; }

  function note(text) {
    var n = h("p", { class: "note msg", text: text });
    ui.log.appendChild(n);
    scrollDown(true);
    return n;
  }

  function clearChips() {
    Array.prototype.forEach.call(ui.log.querySelectorAll(".chips"), function (c) { c.remove(); });
  }

  // ------------------------------------------------------------------ cards
  function openProduct(id, item) {
    try {
      var hostOpen = window.Tailor && window.Tailor.openProduct;  // the host's own, if any
      if (typeof hostOpen === "function") return hostOpen.call(window.Tailor, id, item);
      if (window.TailorStore && typeof window.TailorStore.openItem === "function") return window.TailorStore.openItem(id);
      document.dispatchEvent(new CustomEvent("tailor:open-item", { detail: { id: id, item: item }, cancelable: true }));
    } catch (e) { if (window.console) console.warn("Tailor: could not open product", e); }
  }

  function card(item, turn) {
    var id = String(item.item_id);
    var title = String(item.title || id);
    var out = item.in_stock === false;
    var img = h("img", { src: safeUrl(item.image_url), alt: "", loading: "lazy", decoding: "async" });
    img.addEventListener("error", function () { img.style.visibility = "hidden"; }, { once: true });
    var media = h("div", { class: "media", "aria-hidden": "true" }, [img, out ? h("span", { class: "badge", text: "Out of stock" }) : null]);
    var titleBtn = h("button", { type: "button", class: "title", text: title, "aria-label": "View " + title });
    var price = typeof item.price === "number" ? money(item.price, item.currency) : "";
    var add = h("button", {
      type: "button", class: "add", text: out ? "Sold out" : "Add to cart",
      "aria-label": (out ? "Sold out: " : "Add to cart: ") + title, disabled: out,
    });
    var nope = h("button", { type: "button", class: "nope", text: "Not for me", "aria-label": "Not for me: " + title });
    var ok = h("p", { class: "ok", role: "status" });
    var li = h("li", { class: "card", "data-item-id": id }, [
      media,
      h("div", { class: "cbody" }, [
        item.brand ? h("p", { class: "brand", text: String(item.brand) }) : null,
        titleBtn,
        price ? h("p", { class: "price", text: price }) : null,
        item.reason ? h("p", { class: "why" }, [h("b", { text: "Why this: " }), String(item.reason)]) : null,
        h("div", { class: "acts" }, [add, nope]),
        ok,
      ]),
    ]);

    function view() {
      track("click", id, { channel: "chat", placement: "chat", sessionId: turn.sessionId });
      openProduct(id, item);
    }
    media.addEventListener("click", view);
    titleBtn.addEventListener("click", view);
    add.addEventListener("click", function () {
      if (add.classList.contains("done")) return;
      track("add_to_cart", id, { channel: "chat", placement: "chat", sessionId: turn.sessionId });
      add.classList.add("done");
      add.textContent = "Added \u2713";
      add.setAttribute("aria-label", "Added to cart: " + title);
      ok.textContent = "Added to your cart.";
      document.dispatchEvent(new CustomEvent("tailor:add-to-cart", { detail: { id: id, item: item } }));
    });
    nope.addEventListener("click", function () { dismiss(li, id, title, turn); });
    return li;
  }

  function dismiss(li, id, title, turn) {
    if (li.classList.contains("gone")) return;
    track("dismiss", id, { channel: "chat", placement: "chat", sessionId: turn.sessionId });
    li.classList.add("gone");
    var list = li.parentNode;
    // Keep keyboard users in the row: focus the next card's "Not for me", else the input.
    var next = li.nextElementSibling || li.previousElementSibling;
    var target = next && next.querySelector(".nope");
    var removeIt = function () {
      if (!li.parentNode) return;
      li.remove();
      if (list && !list.children.length) list.remove();
    };
    var reduced = window.matchMedia && matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (reduced) removeIt();
    else { li.addEventListener("transitionend", removeIt, { once: true }); setTimeout(removeIt, 400); }
    (target || ui.input).focus();
    if (!turn.dismissNote) {
      turn.dismissNote = note("Got it \u2014 I'll show fewer like this.");
    } else {
      turn.dismissNote.textContent = "Got it \u2014 I'll show fewer like these.";
    }
    void title;
  }

  function renderCards(items, turn) {
    items = (items || []).filter(function (it) { return it && it.item_id; });
    if (!items.length) return;
    var list = h("ul", { class: "cards", "aria-label": "Suggested products" });
    items.forEach(function (it) { list.appendChild(card(it, turn)); });
    turn.el.appendChild(list);
    items.forEach(function (it) {
      track("impression", it.item_id, { channel: "chat", placement: "chat", sessionId: turn.sessionId });
    });
  }

  function renderQuestion(data, turn) {
    // The reply often already ends with the question; then only the options are added.
    var said = turn.bubble ? turn.bubble.textContent : "";
    if (data.text && said.indexOf(String(data.text).trim()) < 0) {
      turn.el.appendChild(h("div", { class: "msg bot", text: String(data.text) }));
    }
    var opts = (data.options || []).filter(function (o) { return typeof o === "string" && o.trim(); });
    if (!opts.length) return;
    var group = h("div", { class: "chips", role: "group", "aria-label": "Suggested replies" });
    opts.forEach(function (o) {
      var b = h("button", { type: "button", text: o });
      b.addEventListener("click", function () { if (!state.busy) send(o); });
      group.appendChild(b);
    });
    turn.el.appendChild(group);
  }

  function renderOffer(data, turn) {
    var box = h("div", { class: "offer", role: "note", "aria-label": "Offer" }, [
      data.title ? h("h3", { text: String(data.title) }) : null,
      data.text ? h("p", { text: String(data.text) }) : null,
      data.code ? h("p", null, ["Code: ", h("code", { text: String(data.code) })]) : null,
    ]);
    turn.el.appendChild(box);
  }

  // ------------------------------------------------------------------ chat
  function friendly(status, err, retryAfter) {
    var code = err && err.code;
    if (status === 429) {
      var s = parseInt(retryAfter, 10);
      return "I'm getting a lot of questions right now \u2014 please try again" +
        (s > 0 ? " in " + s + " second" + (s === 1 ? "" : "s") : " in a moment") + ".";
    }
    if (status === 413) return "That message is a bit long for me \u2014 could you shorten it?";
    if (status === 422) return "I couldn't read that message \u2014 could you rephrase it?";
    if (status === 401 || status === 403) return "The assistant isn't available on this page right now.";
    if (code === "network") return "I couldn't reach the shop's assistant. Check your connection and try again.";
    return "Sorry, something went wrong on my side. Please try again.";
  }

  function showError(turn, text, retryText) {
    var box = h("div", { class: "err", role: "alert" }, [h("span", { text: text })]);
    if (retryText) {
      var again = h("button", { type: "button", text: "Try again" });
      again.addEventListener("click", function () { box.remove(); if (!state.busy) send(retryText); });
      box.appendChild(again);
    }
    turn.el.appendChild(box);
    scrollDown(true);
  }

  function chatBody(text) {
    var body = {
      message: text,
      context: { local_time: localTime(), timezone: timezone(), device: device(), channel: "web", page: page() },
    };
    if (chatSessionId) body.session_id = chatSessionId;
    return JSON.stringify(body);
  }

  function postChat(text) {
    return fetch(BASE + "/v1/chat", {
      method: "POST", credentials: "omit",
      headers: authHeaders({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: chatBody(text),
    }).then(keepToken);
  }

  // Reads `event: x\ndata: {...}\n\n` blocks from a fetch body and calls onEvent(name, data).
  function readSSE(res, onEvent) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buf = "";
    var name = "message";
    var data = [];
    function line(l) {
      if (l.charAt(l.length - 1) === "\r") l = l.slice(0, -1);
      if (l === "") {
        if (data.length) {
          var payload = data.join("\n");
          var parsed;
          try { parsed = JSON.parse(payload); } catch (e) { parsed = { text: payload }; }
          onEvent(name, parsed);
        }
        name = "message"; data = [];
        return;
      }
      if (l.charAt(0) === ":") return;
      var i = l.indexOf(":");
      var field = i < 0 ? l : l.slice(0, i);
      var value = i < 0 ? "" : l.slice(i + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) {
          buf += decoder.decode();
          if (buf) { buf.split("\n").forEach(line); }
          line("");
          return;
        }
        buf += decoder.decode(r.value, { stream: true });
        var parts = buf.split("\n");
        buf = parts.pop();
        parts.forEach(line);
        return pump();
      });
    }
    return pump();
  }

  function send(text) {
    text = String(text == null ? "" : text).trim();
    if (!text) return Promise.resolve();
    if (!state.opened) open();
    if (state.busy) return Promise.resolve();
    state.busy = true;
    ui.send.setAttribute("aria-disabled", "true");
    clearChips();
    var typedHere = ui.input.value.trim() === text;
    if (typedHere) ui.input.value = "";

    var userMsg = h("div", { class: "msg user", text: text });
    ui.log.appendChild(userMsg);
    var turn = { el: h("div", { class: "turn", "data-state": "streaming" }), sessionId: chatSessionId, dismissNote: null };
    var bubble = h("div", { class: "msg bot" });
    turn.bubble = bubble;
    var textNode = document.createTextNode("");
    bubble.appendChild(textNode);
    turn.el.appendChild(bubble);
    var typing = h("div", { class: "typing", role: "status" }, [
      h("i"), h("i"), h("i"), h("span", { class: "vh", text: "Assistant is typing\u2026" }),
    ]);
    turn.el.appendChild(typing);
    ui.log.appendChild(turn.el);
    ui.log.setAttribute("aria-busy", "true");
    scrollDown(true);

    var got = false;
    var finished = false;
    var tokens = 0;
    function stopTyping() { if (typing.parentNode) typing.remove(); }

    function notSent() {
      // Never lose what the customer typed: the server did not take it, so it goes back into
      // the box (unless they already started a new one) and its bubble says so.
      if (typedHere && !ui.input.value) ui.input.value = text;
      userMsg.classList.add("failed");
      userMsg.appendChild(h("span", { class: "vh", text: " (not sent)" }));
    }

    function onEvent(name, data) {
      data = data || {};
      if (name === "session") {
        if (data.session_id) {
          chatSessionId = String(data.session_id);
          turn.sessionId = chatSessionId;
          perTab.set(SESSION_KEY, chatSessionId);
        }
        return;
      }
      if (name === "token") {
        stopTyping(); got = true;
        textNode.appendData(String(data.text == null ? "" : data.text));
        turn.el.setAttribute("data-tokens", String(++tokens));  // how the reply arrived
      } else if (name === "retract") {
        // The server took back the unchecked words of a clause that failed its check.
        // data.text's own length: JS counts UTF-16 units, the server code points.
        var n = typeof data.text === "string" ? data.text.length : Number(data.chars) || 0;
        n = Math.max(0, Math.min(textNode.length, n));
        textNode.deleteData(textNode.length - n, n);
      } else if (name === "cards") {
        stopTyping(); got = true;
        renderCards(data.items, turn);
      } else if (name === "question") {
        stopTyping(); got = true;
        renderQuestion(data, turn);
      } else if (name === "offer") {
        stopTyping(); got = true;
        renderOffer(data, turn);
      } else if (name === "done") {
        finished = true;
        turn.el.setAttribute("data-message-id", String(data.message_id || ""));
        if (data.degraded) turn.el.setAttribute("data-degraded", "true");
      } else if (name === "error") {
        finished = true;
        stopTyping();
        showError(turn, got ? "Sorry, I lost my train of thought there. Please ask again."
          : friendly(0, data), text);
      }
      scrollDown(false);
    }

    var attempt = function (tries) {
      return postChat(text).catch(function (err) {
        if (tries > 0) return sleep(800).then(function () { return attempt(tries - 1); });
        var e = new Error("network"); e.code = "network"; e.cause = err; throw e;
      });
    };

    // Reactions just given (a "not for me") must reach the model before the next question.
    // A conversation the server no longer knows (or that belonged to an earlier visitor) is
    // not the customer's problem: start a fresh conversation, then a fresh visitor, once each.
    function recover(res) {
      if ((res.status === 404 || res.status === 403) && chatSessionId) {
        chatSessionId = null; perTab.del(SESSION_KEY);
        return attempt(0).then(recover);
      }
      if (res.status === 403 && visitor.token && !recover.visitorReset) {
        recover.visitorReset = true;
        visitor.token = null; local.del(TOKEN_KEY); sessionPromise = null;
        return ensureSession().then(function () { return attempt(0); }).then(recover);
      }
      return res;
    }

    return flush().then(ensureSession).then(function () { return attempt(1); }).then(recover).then(function (res) {
      if (!res.ok) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          stopTyping();
          showError(turn, friendly(res.status, body && body.error, res.headers.get("Retry-After")),
            res.status === 429 || res.status >= 500 ? text : null);
          notSent();
        });
      }
      return readSSE(res, onEvent).then(function () {
        stopTyping();
        if (!got && !finished) showError(turn, friendly(0, null), text);
      });
    }).catch(function (err) {
      stopTyping();
      if (got) showError(turn, "The connection dropped before I finished. Please ask again.", text);
      else { showError(turn, friendly(0, err && err.code ? { code: err.code } : null), text); notSent(); }
      if (window.console) console.warn("Tailor: chat failed", err);
    }).then(function () {
      state.busy = false;
      ui.send.removeAttribute("aria-disabled");
      ui.log.setAttribute("aria-busy", "false");
      if (!bubble.textContent) bubble.remove();
      turn.el.setAttribute("data-state", turn.el.querySelector(".err") ? "error" : "done");
      scrollDown(false);
    });
  }

  // ------------------------------------------------------------------ public API
  var existing = window.Tailor && typeof window.Tailor === "object" ? window.Tailor : {};
  var api = {
    track: function (type, itemId, opts) {
      if (!KEY || !type) return;
      try { track(type, itemId, opts); } catch (e) { /* analytics must never break the host page */ }
    },
    open: function () { open(); },
    close: function () { close(); },
    send: function (text) { return send(text); },
    flush: function () { return flush(); },
    visitorId: function () { return visitor.id; },
    version: "1",
  };
  Object.keys(api).forEach(function (k) { existing[k] = api[k]; });
  window.Tailor = existing;

  function init() {
    if (!KEY) {
      if (window.console) console.warn("Tailor widget: no data-key on the script tag; the chat is off.");
      return;
    }
    build();
    ensureSession().catch(function (err) { if (window.console) console.warn("Tailor: no visitor session", err); });
  }

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
