-- the same databases `ga4lake stack up` creates natively
CREATE DATABASE nessie;
CREATE DATABASE airflow;
CREATE DATABASE superset;
