-- SCUs built from a point table (one row per account) in the warehouse.
{{ terraplan.scu_aggregation(points=ref('ga_accounts'),
     params={'scu_id': 'scu_id', 'metrics': ['revenue'], 'lon': 'lon', 'lat': 'lat'}) }}
