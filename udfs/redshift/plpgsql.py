# ruff: noqa: E501  (PL/pgSQL text, one statement a line)
"""The PL/pgSQL procedures behind ``CALL "terraplan"."<component>"(...)`` on Redshift.

Three procedures, the same for every component but the last:

- ``pack_table(tbl, INOUT packed)``: a table as a JSON array of row objects (the packed
  contract of :mod:`udfs.protocol`): column names and types from ``SVV_COLUMNS``, each row
  built with string functions, rows joined with ``LISTAGG``. It first adds up the packed
  size and refuses a table over Redshift's 65,535-byte ``VARCHAR`` (the type of a Lambda
  UDF argument) with the numbers, instead of LISTAGG's own overflow error.
- ``publish_output(answer, output, tbl, run)``: one output of an answer into ``tbl``. The
  answer lists each output's columns with their logical types (``columns``), so the
  projection follows the call (per-metric columns included); rows are taken apart with
  ``JSON_EXTRACT_ARRAY_ELEMENT_TEXT`` over a numbers table made of digit tables (no
  ``generate_series``, which runs only on the leader node), staged in a temp table,
  then the previous table is dropped and the new one created from the stage.
- ``<component>(inputs..., outputs..., params)``: pack, call the external function once,
  log a ``failed`` row and raise on an error answer (no output changes), else publish
  every output and log ``succeeded``. Everything after the call is one transaction (DDL
  is transactional in Redshift), so readers see all old or all new outputs.

Portability, on purpose: no backslash appears in any literal (``CHR(92)`` and ``CHR(34)``
instead, since Redshift and PostgreSQL read backslashes in literals differently), no
PartiQL, no ``EXECUTE ... USING``; the answer is kept in a temp table rather than pasted
into dynamic SQL (a 64 KB answer inside a statement string would pass the 65,535-byte
string limit). So the same text runs on Redshift and, with a few Redshift functions
defined, on PostgreSQL, which is how the tests run it for real.
"""

from __future__ import annotations

# JSON string escaping with portable literals: backslash, double quote, newline, CR, tab.
ESCAPE = ("REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(CAST({col} AS VARCHAR(65535)), CHR(92), CHR(92) || CHR(92)), "
           "CHR(34), CHR(92) || CHR(34)), CHR(10), CHR(92) || ''n''), CHR(13), CHR(92) || ''r''), CHR(9), CHR(92) || ''t'')")

PACK_TABLE = """CREATE OR REPLACE PROCEDURE {name}(tbl VARCHAR(65535), INOUT packed VARCHAR(65535))
AS $$
DECLARE
  rec RECORD;
  expr VARCHAR(65535) := '';
  sch VARCHAR(127);
  rel VARCHAR(127);
  total BIGINT;
BEGIN
  IF tbl IS NULL THEN
    packed := NULL;
    RETURN;
  END IF;
  IF POSITION('.' IN tbl) > 0 THEN
    sch := SPLIT_PART(tbl, '.', 1);
    rel := SPLIT_PART(tbl, '.', 2);
  ELSE
    sch := CURRENT_SCHEMA();
    rel := tbl;
  END IF;
  FOR rec IN SELECT column_name, data_type FROM svv_columns
      WHERE table_schema = sch AND table_name = rel ORDER BY ordinal_position LOOP
    IF expr <> '' THEN
      expr := expr || ' || '','' || ';
    END IF;
    expr := expr || quote_literal(CHR(34) || REPLACE(REPLACE(rec.column_name, CHR(92), CHR(92) || CHR(92)), CHR(34), CHR(92) || CHR(34)) || CHR(34) || ':') || ' || ';
    IF rec.data_type IN ('smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision') THEN
      expr := expr || 'COALESCE(CAST(' || quote_ident(rec.column_name) || ' AS VARCHAR(64)), ''null'')';
    ELSIF rec.data_type = 'boolean' THEN
      expr := expr || 'CASE WHEN ' || quote_ident(rec.column_name) || ' IS NULL THEN ''null'' WHEN '
        || quote_ident(rec.column_name) || ' THEN ''true'' ELSE ''false'' END';
    ELSE
      expr := expr || 'COALESCE(CHR(34) || ' || REPLACE('{escape}', '{{col}}', quote_ident(rec.column_name)) || ' || CHR(34), ''null'')';
    END IF;
  END LOOP;
  IF expr = '' THEN
    RAISE EXCEPTION 'terraplan: table % not found (or has no columns); pass schema.table', tbl;
  END IF;
  EXECUTE 'SELECT COALESCE(SUM(OCTET_LENGTH(' || expr || ') + 3), 0) + 2 FROM '
    || quote_ident(sch) || '.' || quote_ident(rel) INTO total;
  IF total > 65535 THEN
    RAISE EXCEPTION 'terraplan: table % packs to % bytes, over the 65,535 bytes of a Redshift VARCHAR (a Lambda UDF argument); call once per region (smaller tables) or run this size on DuckDB or Spark', tbl, total;
  END IF;
  EXECUTE 'SELECT ''['' || COALESCE(LISTAGG(''{{'' || ' || expr || ' || ''}}'', '',''), '''') || '']'' FROM '
    || quote_ident(sch) || '.' || quote_ident(rel) INTO packed;
END;
$$ LANGUAGE plpgsql"""

DIGITS = ("(SELECT 0 AS x UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
          "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)")

PUBLISH_OUTPUT = """CREATE OR REPLACE PROCEDURE {name}(answer VARCHAR(127), output VARCHAR(127), tbl VARCHAR(65535), run VARCHAR(64))
AS $$
DECLARE
  cols VARCHAR(65535);
  k INTEGER;
  col VARCHAR(65535);
  json_key VARCHAR(65535);
  typ VARCHAR(32);
  sql_type VARCHAR(32);
  sel VARCHAR(65535) := '';
  target VARCHAR(65535);
  stage VARCHAR(127);
  n_rows INTEGER;
  step INTEGER := 1;
  numbers VARCHAR(65535) := '(SELECT 0 AS i)';
BEGIN
  IF tbl IS NULL THEN
    RETURN;
  END IF;
  EXECUTE 'SELECT JSON_ARRAY_LENGTH(JSON_EXTRACT_PATH_TEXT(doc, ''tables'', ' || quote_literal(output) || ')) FROM ' || quote_ident(answer) INTO n_rows;
  -- 0 .. 10^k - 1 >= n_rows - 1, a digit table per power of ten (the count is a literal
  -- below, so no row count is parsed per candidate row)
  WHILE step < n_rows LOOP
    numbers := '(SELECT a.i + ' || CAST(step AS VARCHAR(12)) || ' * d.x AS i FROM ' || numbers || ' AS a, {digits} AS d)';
    step := step * 10;
  END LOOP;
  EXECUTE 'SELECT JSON_EXTRACT_PATH_TEXT(doc, ''columns'', ' || quote_literal(output) || ') FROM ' || quote_ident(answer) INTO cols;
  IF COALESCE(cols, '') = '' THEN
    RAISE EXCEPTION 'terraplan: the answer has no output %', output;
  END IF;
  FOR k IN 0..JSON_ARRAY_LENGTH(cols) - 1 LOOP
    col := JSON_EXTRACT_ARRAY_ELEMENT_TEXT(JSON_EXTRACT_ARRAY_ELEMENT_TEXT(cols, k), 0);
    typ := JSON_EXTRACT_ARRAY_ELEMENT_TEXT(JSON_EXTRACT_ARRAY_ELEMENT_TEXT(cols, k), 1);
    json_key := JSON_EXTRACT_ARRAY_ELEMENT_TEXT(JSON_EXTRACT_ARRAY_ELEMENT_TEXT(cols, k), 2);
    sql_type := CASE typ WHEN 'string' THEN 'VARCHAR(65535)' WHEN 'double' THEN 'DOUBLE PRECISION'
      WHEN 'bigint' THEN 'BIGINT' WHEN 'boolean' THEN 'BOOLEAN' WHEN 'timestamp' THEN 'TIMESTAMP' END;
    IF sql_type IS NULL THEN
      RAISE EXCEPTION 'terraplan: output % column % has type %, which has no Redshift form', output, col, typ;
    END IF;
    -- a JSON null is NULL; text keeps its empty strings (a number is never '')
    sel := sel || ', CASE WHEN POSITION(' || quote_literal('{{' || json_key || ':null') || ' IN e.e_) > 0 OR POSITION('
      || quote_literal(',' || json_key || ':null') || ' IN e.e_) > 0 THEN NULL ELSE CAST('
      || CASE WHEN typ = 'string' THEN '' ELSE 'NULLIF(' END || 'JSON_EXTRACT_PATH_TEXT(e.e_, ' || quote_literal(col) || ')'
      || CASE WHEN typ = 'string' THEN '' ELSE ', ''''' || ')' END || ' AS ' || sql_type || ') END AS ' || quote_ident(col);
  END LOOP;
  IF POSITION('.' IN tbl) > 0 THEN
    target := quote_ident(SPLIT_PART(tbl, '.', 1)) || '.' || quote_ident(SPLIT_PART(tbl, '.', 2));
  ELSE
    target := quote_ident(tbl);
  END IF;
  stage := 'terraplan_stage_' || SUBSTRING(MD5(run || output), 1, 12);
  EXECUTE 'CREATE TEMP TABLE ' || stage || ' AS SELECT CAST(' || quote_literal(run) || ' AS VARCHAR(64)) AS run_id' || sel
    || ' FROM (SELECT n.i, JSON_EXTRACT_ARRAY_ELEMENT_TEXT(r.rows_, n.i) AS e_ FROM '
    || '(SELECT JSON_EXTRACT_PATH_TEXT(doc, ''tables'', ' || quote_literal(output) || ') AS rows_ FROM ' || quote_ident(answer) || ') AS r, '
    || numbers || ' AS n WHERE n.i < ' || CAST(n_rows AS VARCHAR(12)) || ' OFFSET 0) AS e ORDER BY e.i';
  EXECUTE 'DROP TABLE IF EXISTS ' || target;
  EXECUTE 'CREATE TABLE ' || target || ' AS SELECT * FROM ' || stage;
  EXECUTE 'DROP TABLE ' || stage;
END;
$$ LANGUAGE plpgsql"""

PROCEDURE = """CREATE OR REPLACE PROCEDURE {name}({args})
AS $$
DECLARE
  doc VARCHAR(65535);
  err VARCHAR(65535);
  started TIMESTAMP := GETDATE();
  run VARCHAR(64) := TO_CHAR(GETDATE(), 'YYYYMMDD"T"HH24MISSUS"Z"') || '-' || SUBSTRING(MD5(RANDOM()::VARCHAR), 1, 8);
{declare}
BEGIN
{pack}
  SELECT {function}({packed}, params) INTO doc;
  err := COALESCE(JSON_EXTRACT_PATH_TEXT(doc, 'error'), '');
  IF doc IS NULL OR err <> '' THEN
    err := COALESCE(NULLIF(err, ''), 'the external function answered NULL');
    INSERT INTO {log} ({log_columns})
      VALUES (run, 'call', {component}, {component}, 'failed', started, GETDATE(), params, '', err, '', 'manual');
    COMMIT;
    RAISE EXCEPTION 'terraplan {component_text}: %', err;
  END IF;
  CREATE TEMP TABLE terraplan_answer_tmp (doc VARCHAR(65535));
  INSERT INTO terraplan_answer_tmp VALUES (doc);
{publish}
  INSERT INTO {log} ({log_columns})
    VALUES (run, 'call', {component}, {component}, 'succeeded', started, GETDATE(), params, JSON_EXTRACT_PATH_TEXT(doc, 'report'), '', {outputs}, 'manual');
  DROP TABLE terraplan_answer_tmp;
END;
$$ LANGUAGE plpgsql"""
