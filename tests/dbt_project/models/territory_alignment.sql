{{ config(materialized='terraplan_alignment',
          rebalance={'disruption_weight': 10, 'max_moved': var('max_moved', 0.2)},
          accept_infeasible=var('accept_infeasible', false)) }}

{{ terraplan.territory_balancing(
     scus=ref('scus'), edges=ref('scu_edges'),
     params={'territories': var('territories', 6), 'metrics': ['population', 'accounts'],
             'lon': 'lon', 'lat': 'lat', 'tolerance': var('tolerance', 0.05),
             'seed': 0, 'time_limit': var('time_limit', 60),
             'max_iterations': var('max_iterations', 200)}) }}
