-- Unit adjacency (queen contiguity of the county polygons).
select from_id, to_id from {{ ref('ga_edges') }}
