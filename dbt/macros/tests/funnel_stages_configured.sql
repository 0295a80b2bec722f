{#-
  Every (stage_order, stage) row is one of the configured funnel's stages at its position: var
  ga4lake_funnel_stages (ga4lake.yml funnel.stages, passed by `ga4lake validate`). A table built with
  other stages (a changed setting without a rebuild, docs/configuration.md) fails here.
-#}
{% test funnel_stages_configured(model, order_column='stage_order', stage_column='stage') %}
{%- set stages = var('ga4lake_funnel_stages') %}
select {{ order_column }} as stage_order, {{ stage_column }} as stage
from {{ model }}
where ({{ order_column }}, {{ stage_column }}) not in (
    {%- for s in stages %}({{ loop.index }}, '{{ s }}'){{ ', ' if not loop.last }}{% endfor -%}
)
{% endtest %}
