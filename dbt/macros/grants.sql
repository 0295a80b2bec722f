{#-
  on-run-end: the read-only role (ga4lake_reader, created by the gold sync) may enter the insights
  schema. The views' SELECT grants are dbt's own `+grants` (dbt_project.yml); a schema's USAGE is not a
  dbt grant, so this one statement stays a hook. One DO block: a no-op while the role or the schema does
  not exist yet.
-#}
{% macro ga4lake_grant_schema_usage(role='ga4lake_reader') %}
do $ga4lake$
begin
  if exists (select 1 from pg_roles where rolname = '{{ role }}')
     and exists (select 1 from information_schema.schemata where schema_name = '{{ target.schema }}') then
    execute 'grant usage on schema "{{ target.schema }}" to {{ role }}';
  end if;
end
$ga4lake$
{% endmacro %}
