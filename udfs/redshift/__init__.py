"""Redshift adapter: a Lambda UDF handler and the SQL around it.

* :mod:`.handler`: the Lambda function Redshift calls (``CREATE EXTERNAL FUNCTION ...
  LAMBDA``), Redshift's batched event in and its reply out, on the packed-JSON core of
  :mod:`udfs.protocol` shared with DuckDB and BigQuery;
* :mod:`.ddl`: the external functions, the PL/pgSQL procedures that take table names,
  and the run log; :mod:`.cli`: ``terraplan deploy redshift``; :mod:`.adapter`: the
  adapter metadata, ``compile`` and ``schedule`` (scheduled queries).
"""
