/* Tailor page slots. Embed:
 *   <div data-tailor-slot="for_you" data-customer="v-42"></div>
 *   <script src="https://tailor.example.com/v1/slots/snippet.js" data-key="tlr_wid_..."
 *           data-visitor-token="..." async></script>
 * Each slot div is filled with its title and product cards; offers show as a banner. */
(function () {
  var me = document.currentScript;
  var base = me.src.replace(/\/v1\/slots\/snippet\.js.*$/, "");
  var key = me.getAttribute("data-key"), token = me.getAttribute("data-visitor-token");
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;  // text only: nothing from the API is parsed as HTML
    return e;
  }
  function render(div, data) {
    div.textContent = "";
    if (data.offer) div.appendChild(el("div", "tailor-offer", data.offer.message));
    div.appendChild(el("h3", "tailor-slot-title", data.title));
    var row = el("div", "tailor-row");
    (data.items || []).forEach(function (it) {
      var c = el("div", "tailor-card");
      if (it.image_url) { var img = el("img"); img.src = it.image_url; img.alt = it.title; c.appendChild(img); }
      c.appendChild(el("div", "tailor-card-title", it.title));
      c.appendChild(el("div", "tailor-card-price", it.price.toFixed(2) + " " + it.currency));
      c.setAttribute("data-item", it.id);
      row.appendChild(c);
    });
    div.appendChild(row);
  }
  document.querySelectorAll("[data-tailor-slot]").forEach(function (div) {
    var url = base + "/v1/slots/" + encodeURIComponent(div.getAttribute("data-tailor-slot")) +
      "?customer_id=" + encodeURIComponent(div.getAttribute("data-customer")) +
      "&k=" + (div.getAttribute("data-k") || "8");
    var headers = {Authorization: "Bearer " + key};
    if (token) headers["X-Visitor-Token"] = token;
    fetch(url, {headers: headers}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) render(div, data); });
  });
})();
