import Logging
import PostgresNIO

/// The numbered schema migrations of `sql/`, embedded so the binary needs no files at run time
/// (a test checks they match `sql/` to the byte). Applied in order on start, each in its own
/// transaction, and recorded in `tandem_migrations`.
public enum Migrations {
    /// (number, name, SQL), in order.
    public static let all: [(number: Int, name: String, sql: String)] = [
        (
            1, "001_batch_catalog.sql",
            #"""
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

            """#
        ),
        (
            2, "002_definitions.sql",
            #"""
            -- Stream and view definitions (the catalog the ingest path and both layers read on start).

            CREATE TABLE tandem_definitions (
                kind          text        NOT NULL CHECK (kind IN ('streams', 'views')),
                name          text        NOT NULL,
                definition    text        NOT NULL,
                updated_at    timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (kind, name)
            );

            """#
        ),
        (
            3, "003_sql_views.sql",
            #"""
            -- The schema of the SQL views over the batch layer: tandem."<view>" is re-pointed at each
            -- publish to the published version table, for psql, Grafana or Metabase.

            CREATE SCHEMA IF NOT EXISTS tandem;

            """#
        ),
        (
            4, "004_typed_versions.sql",
            #"""
            -- Version tables built with typed columns (d_<i> per dimension, a_<i> per aggregate) say so, so
            -- that queries may push dimension filters down to them; older tables hold only the states.

            ALTER TABLE tandem_view_versions ADD COLUMN typed boolean NOT NULL DEFAULT false;

            """#
        ),
        (
            5, "005_log_identity.sql",
            #"""
            -- Each version remembers the identity of the log topic its cut was taken from, so that a start
            -- never merges it with another log (one restored from a backup, or deleted and created again).
            -- Versions built before have none: only their offsets are checked against the log.

            ALTER TABLE tandem_view_versions ADD COLUMN log_id text;

            """#
        ),
        (
            6, "006_tokens.sql",
            #"""
            -- Bearer tokens are kept with the other definitions (their secrets only as SHA-256 hashes).

            ALTER TABLE tandem_definitions DROP CONSTRAINT tandem_definitions_kind_check;
            ALTER TABLE tandem_definitions ADD CONSTRAINT tandem_definitions_kind_check CHECK (kind IN ('streams', 'views', 'tokens'));

            """#
        ),
        (
            7, "007_late_records.sql",
            #"""
            -- Each version keeps, per partition, the largest event time below its cut (the least bigint where
            -- the partition has no record there), so that an incremental job and a speed layer starting at the
            -- cut judge later records late or not exactly as a run from offset 0 would. Its rows carry a
            -- late count in their states. Versions built before have none: the next job is a full one.

            ALTER TABLE tandem_view_versions ADD COLUMN max_event_times bigint[];

            """#
        ),
        (
            8, "008_instances.sql",
            #"""
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

            """#
        ),
        (
            9, "009_runner.sql",
            #"""
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

            """#
        ),
        (
            10, "010_partitions.sql",
            #"""
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

            """#
        ),
    ]

    /// The statements of a migration: the extended query protocol takes one at a time. Migrations
    /// end each statement with `;` at the end of a line and hold no other such semicolons.
    static func statements(_ sql: String) -> [String] {
        sql.split(separator: ";\n").map { chunk in
            chunk.split(separator: "\n").filter { !$0.trimmingPrefix(" ").hasPrefix("--") }.joined(separator: "\n")
        }.filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// Applies the migrations not yet recorded; concurrent starters are serialized by an
    /// advisory lock.
    public static func apply(on client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7351092)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS tandem_migrations (
                    number integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await number in try await connection.query("SELECT number FROM tandem_migrations", logger: logger).decode(Int.self) {
                applied.insert(number)
            }
            for migration in all where !applied.contains(migration.number) {
                for statement in statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO tandem_migrations (number, name) VALUES (\(migration.number), \(migration.name))", logger: logger)
                logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
            }
        }
    }
}
