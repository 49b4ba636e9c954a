// Model Health's DAG tab belongs on monitor DAGs (gapwatch__<model>) only.
//
// Airflow 3.3 adds a plugin's "dag" external view to the tab bar of every DAG page: its UI lists
// the plugin views whose destination is "dag" and filters nothing else (no per-DAG option). This
// React app with destination "base" (rendered once in Airflow's page layout, on every page) adds
// one style rule that hides the tab's link on any other DAG. It renders nothing.
// Opened on another DAG anyway (a typed URL), the tab's page sends the user to the fleet page.
const STYLE_ID = "gapwatch-model-health-tab-scope";
const RULE = 'a[href$="/plugin/model-health-tab"]:not([href*="/dags/gapwatch__"]) { display: none !important; }';

function GapwatchTabScope() {
  if (!document.getElementById(STYLE_ID)) {
    const style = document.createElement("style");
    style.id = STYLE_ID;
    style.textContent = RULE;
    document.head.appendChild(style);
  }
  return null;
}

globalThis.AirflowPlugin = GapwatchTabScope;
