// Draws every chart on the page: each <div class="chart" data-spec="ID"> gets the Vega-Lite spec
// in <script type="application/json" id="ID">, rendered by the locally served vega-embed as SVG.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("div.chart[data-spec]").forEach(function (el) {
      var source = document.getElementById(el.dataset.spec);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      vegaEmbed(el, spec, { actions: false, renderer: "svg" })
        .then(function () { el.dataset.rendered = "true"; })
        .catch(function (err) {
          el.dataset.rendered = "error";
          el.textContent = "chart failed: " + err;
        });
    });
  }
  // The fleet table's search, status filter and sort (rows carry data-status, -rank, -last-run).
  function fleetControls() {
    var table = document.getElementById("fleet");
    var search = document.getElementById("fleet-search");
    var only = document.getElementById("fleet-status");
    var sort = document.getElementById("fleet-sort");
    if (!table || !search || !only || !sort) { return; }
    var body = table.tBodies[0];
    function apply() {
      var q = search.value.trim().toLowerCase();
      var rows = Array.prototype.slice.call(body.rows);
      rows.forEach(function (r) {
        r.hidden = !((!only.value || r.dataset.status === only.value) &&
                     (!q || r.textContent.toLowerCase().indexOf(q) >= 0));
      });
      rows.sort(function (a, b) {
        if (sort.value === "model") { return a.dataset.model.localeCompare(b.dataset.model); }
        if (sort.value === "last-run") { return (a.dataset.lastRun || "").localeCompare(b.dataset.lastRun || ""); }
        return Number(a.dataset.rank) - Number(b.dataset.rank);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    [search, only, sort].forEach(function (el) {
      el.addEventListener("input", apply);
      el.addEventListener("change", apply);
    });
  }
  function start() { draw(); fleetControls(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
