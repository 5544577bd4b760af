{#- generated from the component specs by `python -m workflows.dbt.generate`; do not edit -#}
{#- Adjacency: inputs units, edges, nodes; outputs edges -#}
{% macro adjacency(units, edges=none, nodes=none, params={}, output=none) %}
  {{ return(terraplan.component('adjacency', {'units': units, 'edges': edges, 'nodes': nodes}, params, output)) }}
{% endmacro %}

{#- Cost matrix: inputs points, to, edges, nodes; outputs costs -#}
{% macro cost_matrix(points, to=none, edges=none, nodes=none, params={}, output=none) %}
  {{ return(terraplan.component('cost_matrix', {'points': points, 'to': to, 'edges': edges, 'nodes': nodes}, params, output)) }}
{% endmacro %}

{#- Location allocation: inputs demand, candidates, required, competitors, edges, costs; outputs assignments, facilities -#}
{% macro location_allocation(demand, candidates=none, required=none, competitors=none, edges=none, costs=none, params={}, output=none) %}
  {{ return(terraplan.component('location_allocation', {'demand': demand, 'candidates': candidates, 'required': required, 'competitors': competitors, 'edges': edges, 'costs': costs}, params, output)) }}
{% endmacro %}

{#- Road network: inputs osm; outputs nodes, edges -#}
{% macro road_network(osm, params={}, output=none) %}
  {{ return(terraplan.component('road_network', {'osm': osm}, params, output)) }}
{% endmacro %}

{#- Aggregate to SCUs: inputs points; outputs scus -#}
{% macro scu_aggregation(points, params={}, output=none) %}
  {{ return(terraplan.component('scu_aggregation', {'points': points}, params, output)) }}
{% endmacro %}

{#- Territory balancing: inputs scus, centers, edges; outputs assignments, territories -#}
{% macro territory_balancing(scus, centers=none, edges=none, params={}, output=none) %}
  {{ return(terraplan.component('territory_balancing', {'scus': scus, 'centers': centers, 'edges': edges}, params, output)) }}
{% endmacro %}

{#- Territory polygons: inputs units, assignments; outputs polygons -#}
{% macro territory_polygons(units, assignments=none, params={}, output=none) %}
  {{ return(terraplan.component('territory_polygons', {'units': units, 'assignments': assignments}, params, output)) }}
{% endmacro %}
