-- Location allocation as a plain table: each county's hub (5 hubs, population-weighted
-- p-median on great-circle distance).
{{ terraplan.location_allocation(
     demand=ref('scus'),
     params={'facilities': 5, 'lon': 'lon', 'lat': 'lat', 'weight': 'population',
             'distance': 'haversine', 'seed': 0, 'time_limit': 30}) }}
