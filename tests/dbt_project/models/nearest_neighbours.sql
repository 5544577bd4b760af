-- The 3 nearest counties of each county, in km.
{{ terraplan.cost_matrix(points=ref('scus'),
     params={'lon': 'lon', 'lat': 'lat', 'distance': 'haversine', 'k': 3}) }}
