-- Stream and view definitions (the catalog the ingest path and both layers read on start).

CREATE TABLE tandem_definitions (
    kind          text        NOT NULL CHECK (kind IN ('streams', 'views')),
    name          text        NOT NULL,
    definition    text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name)
);
