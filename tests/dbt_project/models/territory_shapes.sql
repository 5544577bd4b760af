-- One dissolved polygon (WKT) per territory of the current alignment.
{{ terraplan.territory_polygons(units=ref('county_shapes'), assignments=ref('territory_alignment'),
     params={'metric': ['population']}) }}
