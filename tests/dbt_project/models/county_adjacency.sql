-- Unit adjacency from the county centroids (Delaunay triangulation, long edges pruned).
{{ terraplan.adjacency(units=ref('scus'),
     params={'source': 'points', 'lon': 'lon', 'lat': 'lat'}) }}
