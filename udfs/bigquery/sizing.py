"""How large a call's reply will be, so the wrapper procedure picks packed or table mode.

BigQuery takes at most ~15 MB back from a remote function. The input size alone does
not tell: a cost matrix with ``k = 50`` for 5,000 points is a 250,000-row table, a
20.6 MB reply from a 0.3 MB input. So the procedure estimates the reply from the row
counts it has already measured and the parameters, and uses table-reference mode when
the estimate is over :data:`REPLY_PACKED_MAX_BYTES`; a reply that still comes back over
the limit (ids much longer than the estimate assumes) is answered with
``{"kind": "reply_too_large"}`` and the procedure re-runs the call in table mode.

The estimate is one SQL expression per component over INT64 variables the procedure
declares (``<input>_rows`` per input, 0 when absent, and ``param_k``), written in
DuckDB's dialect like every template and rendered by sqlglot: the same tree runs in
the procedure (GoogleSQL) and in the tests (DuckDB).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from components.spec import ComponentSpec
from udfs.bigquery.contract import MAX_RESPONSE_BYTES, MAX_ROW_INPUT_BYTES

# Bytes of one reply row: the row is JSON inside a JSON string (quotes escaped). Measured:
# a cost-matrix row with 5-character ids is 82 bytes; 16 + 28 per column leaves room.
ROW_BASE_BYTES, COLUMN_BYTES = 16, 28
# Packed only below these: 90 % of the reply limit; the arguments' limit less a margin.
REPLY_PACKED_MAX_BYTES = int(MAX_RESPONSE_BYTES * 0.9)
PACKED_MAX_BYTES = MAX_ROW_INPUT_BYTES - 200_000
PACKED_MAX_ROWS = 50_000
# The parameters the estimates read (procedure variable -> JSON path in params).
PARAM_VARIABLES = {"param_k": "$.k"}

# Rows of each output, per component (DuckDB SQL over the variables above). Components
# not listed: every output has at most one row per row of the first input.
OUTPUT_ROWS = {
    # origins x min(k, destinations); destinations = `to`, or the points themselves
    "cost_matrix": {"costs": "points_rows * LEAST(COALESCE(param_k, dest), dest)"},
    # a planar triangulation has under 3n edges, written in both directions
    "adjacency": {"edges": "GREATEST(6 * units_rows, 2 * edges_rows)"},
    "location_allocation": {"assignments": "demand_rows",
                            "facilities": "candidates_rows + required_rows"},
    "road_network": {"nodes": "osm_rows", "edges": "2 * osm_rows"},
    "territory_balancing": {"assignments": "scus_rows", "territories": "scus_rows"},
}
# Columns counted when a spec lists a variable group such as "<metric>".
_VARIABLE_COLUMNS = 3


def row_bytes(columns: tuple[str, ...]) -> int:
    n = sum(_VARIABLE_COLUMNS if "<" in c else 1 for c in columns)
    return ROW_BASE_BYTES + COLUMN_BYTES * n


def _dest(spec: ComponentSpec) -> str:
    return "IF(to_rows > 0, to_rows, points_rows)" if spec.name == "cost_matrix" else "0"


def reply_bytes_expression(spec: ComponentSpec) -> exp.Expr:
    """The estimated reply size in bytes, as a sqlglot tree over the procedure variables."""
    first = f"{spec.inputs[0].name}_rows"
    rows = OUTPUT_ROWS.get(spec.name, {})
    terms = []
    for table in spec.outputs:
        n = rows.get(table.name, first).replace("dest", _dest(spec))
        terms.append(f"({n}) * {row_bytes(table.columns)}")
    return sqlglot.parse_one(" + ".join(terms), dialect="duckdb")


def mode_expression(spec: ComponentSpec) -> exp.Expr:
    """``'packed'`` or ``'tables'`` from the measured input and the estimated reply."""
    reply = reply_bytes_expression(spec).sql(dialect="duckdb")
    sql = (f"CASE WHEN packed_bytes <= {PACKED_MAX_BYTES} AND packed_rows <= {PACKED_MAX_ROWS}"
           f" AND {reply} <= {REPLY_PACKED_MAX_BYTES} THEN 'packed' ELSE 'tables' END")
    return sqlglot.parse_one(sql, dialect="duckdb")


def variables(spec: ComponentSpec) -> list[str]:
    """The INT64 variables :func:`mode_expression` reads."""
    return ["packed_bytes", "packed_rows", *(f"{t.name}_rows" for t in spec.inputs),
            *PARAM_VARIABLES]


def choose_mode(spec: ComponentSpec, values: dict[str, int | None]) -> str:
    """Evaluate :func:`mode_expression` on DuckDB for given variable values (tests, docs)."""
    import duckdb

    names = variables(spec)
    select = ", ".join(f"CAST(? AS BIGINT) AS {n}" for n in names)
    sql = f"SELECT {mode_expression(spec).sql(dialect='duckdb')} FROM (SELECT {select})"
    params = [values.get(n, 0) if n not in PARAM_VARIABLES else values.get(n) for n in names]
    (row,) = duckdb.connect().execute(sql, params).fetchall()
    return str(row[0])
