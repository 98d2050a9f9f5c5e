-- Servers on one Kafka cluster divide the partitions of every stream among themselves (a Kafka
-- consumer group assigns them). Each records here the partitions it computes, so that any server
-- knows whom to ask for a partition's speed state, and the batch runner whom to ask for a cut.
-- A row names the last server that took the partition; one that died keeps its rows until
-- another takes them.

CREATE TABLE tandem_partition_owners (
    stream     text        NOT NULL,
    partition  integer     NOT NULL,
    instance   text        NOT NULL,
    since      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, partition)
);

-- The key that servers sharing the database present to each other's internal endpoints (a
-- partition's speed state, a cut). Made once, from PostgreSQL's strong random source.
CREATE TABLE tandem_cluster_key (
    id   integer PRIMARY KEY CHECK (id = 1),
    key  text    NOT NULL
);
INSERT INTO tandem_cluster_key (id, key) VALUES (1, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
