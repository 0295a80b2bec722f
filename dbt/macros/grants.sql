{#-
  on-run-end: let the dashboards' read-only role (ga4lake_reader, created by the gold sync) read the
  insight views. One DO block, so it is a no-op when the role or the schema does not exist yet.
-#}
{% macro ga4lake_grant_reader(role='ga4lake_reader') %}
do $ga4lake$
begin
  if exists (select 1 from pg_roles where rolname = '{{ role }}')
     and exists (select 1 from information_schema.schemata where schema_name = '{{ target.schema }}') then
    execute 'grant usage on schema "{{ target.schema }}" to {{ role }}';
    execute 'grant select on all tables in schema "{{ target.schema }}" to {{ role }}';
  end if;
end
$ga4lake$
{% endmacro %}
