-- Each version remembers the identity of the log topic its cut was taken from, so that a start
-- never merges it with another log (one restored from a backup, or deleted and created again).
-- Versions built before have none: only their offsets are checked against the log.

ALTER TABLE tandem_view_versions ADD COLUMN log_id text;
