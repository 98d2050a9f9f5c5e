-- Batch layer catalog: view versions with their cuts, what is published, and jobs.
-- Version tables themselves are created per version (tandem_vv_<id>) by the batch layer.

CREATE TABLE tandem_view_versions (
    id            bigserial   PRIMARY KEY,
    view          text        NOT NULL,
    definition    text        NOT NULL,
    mode          text        NOT NULL CHECK (mode IN ('full', 'incremental')),
    cut           bigint[]    NOT NULL,
    table_name    text        NOT NULL,
    rows_written  bigint      NOT NULL DEFAULT 0,
    state         text        NOT NULL CHECK (state IN ('building', 'published', 'retired', 'dropped', 'failed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX tandem_view_versions_view ON tandem_view_versions (view, id);

-- Exactly one published version per view; switching it is the atomic publish.
CREATE TABLE tandem_publications (
    view          text        PRIMARY KEY,
    version_id    bigint      NOT NULL REFERENCES tandem_view_versions (id),
    cut           bigint[]    NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tandem_jobs (
    id            bigserial   PRIMARY KEY,
    view          text        NOT NULL,
    mode          text        NOT NULL CHECK (mode IN ('full', 'incremental')),
    trigger       text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    scanned       bigint      NOT NULL DEFAULT 0,
    total         bigint      NOT NULL DEFAULT 0,
    cut           bigint[],
    version_id    bigint,
    rows_written  bigint,
    attempts      integer     NOT NULL DEFAULT 0,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX tandem_jobs_view ON tandem_jobs (view, id);
