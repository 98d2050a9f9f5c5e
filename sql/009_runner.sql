-- Several servers may share one database when their log is Kafka: one of them, the batch runner,
-- runs every job. It is elected with a PostgreSQL advisory lock held on a session of its own; each
-- election bumps the epoch here, and a publish commits only under the epoch its runner was
-- elected with, so that a runner that lost its lock unnoticed can never publish.

CREATE TABLE tandem_runner (
    id           integer     PRIMARY KEY CHECK (id = 1),
    epoch        bigint      NOT NULL,
    instance     text,
    elected_at   timestamptz
);
INSERT INTO tandem_runner (id, epoch) VALUES (1, 0);

-- Servers whose log is Kafka share the database; a server with its own log never does.
ALTER TABLE tandem_instances ADD COLUMN shared boolean NOT NULL DEFAULT false;

-- At most one queued or running job per view, whichever server queued it.
UPDATE tandem_jobs SET state = 'failed', error = 'interrupted: the server stopped (queued again at start)', finished_at = now()
WHERE state IN ('queued', 'running') AND id NOT IN (SELECT max(id) FROM tandem_jobs WHERE state IN ('queued', 'running') GROUP BY view);
CREATE UNIQUE INDEX tandem_jobs_active ON tandem_jobs (view) WHERE state IN ('queued', 'running');
