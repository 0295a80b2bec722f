{#-
  Closed funnel: per day, a stage never has more sessions than the stage before it (a session reaches
  stage k only after k-1), and the closed count never exceeds the open count of the same stage.
  Also fails when a day's stage orders are not 1..N without gaps (a missing stage would hide a break).
-#}
{% test funnel_closed_monotone(model, date_column='event_date', order_column='stage_order',
                               closed_column='closed_sessions', open_column='open_sessions') %}
with ordered as (
    select
        {{ date_column }} as day,
        {{ order_column }} as stage_order,
        {{ closed_column }} as closed_n,
        {{ open_column }} as open_n,
        lag({{ closed_column }}) over (partition by {{ date_column }} order by {{ order_column }}) as prev_closed_n,
        row_number() over (partition by {{ date_column }} order by {{ order_column }}) as expected_order
    from {{ model }}
)
select *,
    case
        when closed_n > prev_closed_n then 'closed count grows from the previous stage'
        when closed_n > open_n then 'closed count exceeds the open count'
        when stage_order <> expected_order then 'stage orders are not 1..N'
    end as failure
from ordered
where closed_n > prev_closed_n
   or closed_n > open_n
   or stage_order <> expected_order
{% endtest %}
