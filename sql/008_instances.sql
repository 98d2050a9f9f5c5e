-- The Tandem servers that use this database, each with a heartbeat. One server per database for
-- now: a second one, on another data directory, refuses to start while the first one's heartbeat
-- is fresh. (The row of a server that stopped is deleted; one that crashed goes stale.)

CREATE TABLE tandem_instances (
    id            text        PRIMARY KEY,
    address       text        NOT NULL,
    pid           integer     NOT NULL,
    data_dir      text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
