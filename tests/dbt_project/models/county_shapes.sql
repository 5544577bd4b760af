select scu_id as id, wkt, population from {{ ref('ga_counties') }}
