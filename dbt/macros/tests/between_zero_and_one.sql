{#- A rate or share: every non-NULL value lies in [0, 1]. -#}
{% test between_zero_and_one(model, column_name) %}
select {{ column_name }} as value
from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1
{% endtest %}
