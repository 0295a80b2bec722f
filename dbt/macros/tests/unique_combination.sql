{#-
  Composite-key uniqueness: no two rows share the same values of `combination_of_columns`.
  NULLs compare equal here (unlike dbt's `unique`), so pair it with not_null on each key column.
-#}
{% test unique_combination(model, combination_of_columns) %}
{%- set cols = combination_of_columns | join(', ') %}
select {{ cols }}, count(*) as n_rows
from {{ model }}
group by {{ cols }}
having count(*) > 1
{% endtest %}
