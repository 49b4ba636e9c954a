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
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
