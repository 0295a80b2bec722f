{#- Money and counts: no negative values (NULL allowed; pair with not_null where required). -#}
{% test non_negative(model, column_name) %}
select {{ column_name }} as value
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
