{{ terraplan.location_allocation(
     demand=ref('scus'), output='facilities',
     params={'facilities': 5, 'lon': 'lon', 'lat': 'lat', 'weight': 'population',
             'distance': 'haversine', 'seed': 0, 'time_limit': 30}) }}
