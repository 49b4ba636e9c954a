// Clicks on GX Data Docs buttons whose inline onclick handlers were turned into data attributes
// (gapwatch.readiness.docs_offline): a Content-Security-Policy of script-src 'self' runs no inline
// handler, so this file, served from the plugin's own origin, calls the page's function instead.
document.addEventListener("click", function (event) {
  var el = event.target.closest ? event.target.closest("[data-gw-call]") : null;
  if (!el) return;
  var fn = window[el.getAttribute("data-gw-call")];
  if (typeof fn !== "function") return;
  fn.apply(null, el.hasAttribute("data-gw-arg") ? [el.getAttribute("data-gw-arg")] : []);
});
