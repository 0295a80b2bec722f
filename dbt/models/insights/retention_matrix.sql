-- Retention matrix: one row per first-visit cohort, the share of the cohort active on day 0 .. 30
-- (columns d0 .. d30; NULL = day not observed yet), with D1 and D7 spelled out for dashboards.
{%- set max_day = 30 %}

select
    cohort_date,
    max(cohort_users) as cohort_users,
    max(day_n) as observed_days,
    max(case when day_n = 1 then returning_users end) as d1_users,
    max(case when day_n = 1 then retention_rate end) as d1_retention,
    max(case when day_n = 7 then returning_users end) as d7_users,
    max(case when day_n = 7 then retention_rate end) as d7_retention,
    max(case when day_n = 7 then retention_rate_on_or_after end) as d7_plus_retention,
{%- for d in range(0, max_day + 1) %}
    max(case when day_n = {{ d }} then retention_rate end) as d{{ d }}{{ "," if not loop.last }}
{%- endfor %}
from {{ source('gold', 'agg_retention_daily') }}
group by cohort_date
