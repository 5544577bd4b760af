-- One row per SCU (county), with the metrics to balance.
select scu_id as id, name, lon, lat, population, accounts
from {{ ref('ga_counties') }}
