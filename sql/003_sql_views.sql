-- The schema of the SQL views over the batch layer: tandem."<view>" is re-pointed at each
-- publish to the published version table, for psql, Grafana or Metabase.

CREATE SCHEMA IF NOT EXISTS tandem;
