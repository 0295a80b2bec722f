{#-
  Purchasing sessions are a subset of sessions: `purchases` <= `sessions` on every row
  (e.g. sessions_with_purchase <= sessions per day and traffic source).
-#}
{% test purchases_at_most_sessions(model, purchases='sessions_with_purchase', sessions='sessions') %}
select {{ purchases }} as purchases, {{ sessions }} as sessions
from {{ model }}
where {{ purchases }} > {{ sessions }}
{% endtest %}
