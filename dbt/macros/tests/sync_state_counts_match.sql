{#- The sync records each table's row count after a load without scanning it (previous count − deleted
    + copied): every recorded count must equal the table's real count, or the bookkeeping drifted. -#}
{% test sync_state_counts_match(model, tables) %}
{% for t in tables %}
{%- set rel = api.Relation.create(database=model.database, schema=model.schema, identifier=t) %}
select s.table_name, s.rows as recorded, c.actual
from {{ model }} s
cross join (select count(*) as actual from {{ rel }}) c
where s.table_name = '{{ t }}' and s.rows <> c.actual
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% endtest %}
