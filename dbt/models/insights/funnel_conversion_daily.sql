-- Funnel conversion by day: one row per session start date and stage with the open and the closed
-- (in-order) funnel, conversion from the previous stage and from the start, and the drop-off.
with funnel as (
    select * from {{ source('gold', 'agg_funnel_daily') }}
),

started as (
    select event_date, open_sessions as sessions_started
    from funnel
    where stage_order = 1
)

select
    f.event_date,
    f.stage_order,
    f.stage,
    s.sessions_started,
    f.open_sessions,
    f.closed_sessions,
    f.open_users,
    f.closed_users,
    f.open_step_conversion,
    f.open_overall_conversion,
    f.closed_step_conversion,
    f.closed_overall_conversion,
    coalesce(
        lag(f.closed_sessions) over (partition by f.event_date order by f.stage_order) - f.closed_sessions, 0
    ) as closed_drop_off_sessions,
    f.median_seconds_to_stage_open,
    f.median_seconds_to_stage_closed
from funnel as f
left join started as s on s.event_date = f.event_date
