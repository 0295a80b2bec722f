{#-
  Retention: on day 0 every cohort member is active (returning on day 0 = cohort size), every cohort
  has its day-0 row, and no later day has more returning users than the cohort has members.
-#}
{% test retention_day0_is_cohort_size(model, cohort_column='cohort_date', day_column='day_n',
                                      returning_column='returning_users', size_column='cohort_users') %}
with cohorts as (
    select {{ cohort_column }} as cohort,
        max(case when {{ day_column }} = 0 then 1 else 0 end) as has_day0,
        max(case when {{ day_column }} = 0 and {{ returning_column }} <> {{ size_column }} then 1 else 0 end)
            as day0_differs,
        max(case when {{ returning_column }} > {{ size_column }} then 1 else 0 end) as exceeds_size
    from {{ model }}
    group by {{ cohort_column }}
)
select *,
    case
        when has_day0 = 0 then 'cohort has no day-0 row'
        when day0_differs = 1 then 'day-0 returning users differ from the cohort size'
        else 'returning users exceed the cohort size'
    end as failure
from cohorts
where has_day0 = 0 or day0_differs = 1 or exceeds_size = 1
{% endtest %}
