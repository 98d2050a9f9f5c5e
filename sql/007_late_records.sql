-- Each version keeps, per partition, the largest event time below its cut (the least bigint where
-- the partition has no record there), so that an incremental job and a speed layer starting at the
-- cut judge later records late or not exactly as a run from offset 0 would. Its rows carry a
-- late count in their states. Versions built before have none: the next job is a full one.

ALTER TABLE tandem_view_versions ADD COLUMN max_event_times bigint[];
