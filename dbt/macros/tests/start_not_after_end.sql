{#- A time span is well formed: `start_column` <= `end_column` on every row where both are set. -#}
{% test start_not_after_end(model, start_column, end_column) %}
select {{ start_column }} as start_value, {{ end_column }} as end_value
from {{ model }}
where {{ start_column }} > {{ end_column }}
{% endtest %}
