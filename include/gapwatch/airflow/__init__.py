"""The only code of the package that imports Airflow: the DAG factory, connections and the
channel senders (shaped like the providers' notifiers). Everything below it is plain Python."""
