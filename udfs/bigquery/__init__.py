"""BigQuery adapter: a remote-function service and the SQL that wraps it.

* :mod:`~udfs.bigquery.contract`: BigQuery's request/response shape and limits.
* :mod:`~udfs.bigquery.handler`: answers a request (packed and table-reference modes).
* :mod:`~udfs.bigquery.tables`: table-reference mode reads/writes with the BigQuery client.
* :mod:`~udfs.bigquery.main` / :mod:`~udfs.bigquery.app`: the functions-framework app
  the Cloud Run container (``Dockerfile``) and ``terraplan serve bigquery`` run.
* :mod:`~udfs.bigquery.ddl`: ``CREATE FUNCTION ... REMOTE`` and the wrapper procedures.
* :mod:`~udfs.bigquery.deploy` and :mod:`~udfs.bigquery.cli`: ``terraplan deploy bigquery``.
"""
