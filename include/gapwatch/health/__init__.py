"""Model Health's read model (``model``) and its Vega-Lite charts (``charts``); no Airflow."""
