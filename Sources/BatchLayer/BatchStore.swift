import Aggregation
import Events
import Logging
import NIOCore
import PostgresNIO

/// The batch layer's PostgreSQL side: version tables written with COPY, the catalog of versions
/// and publications, and reads of published rows. Every value is a bind parameter; the only
/// identifiers built are version tables named from their numeric id.
struct BatchStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    static func tableName(_ id: Int64) -> String { "tandem_vv_\(id)" }

    /// A quoted identifier (doubling quotes), for the table names built here.
    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacing("\"", with: "\"\"") + "\"" }

    func loadPublications() async throws -> [String: PublishedVersion] {
        let rows = try await client.query(
            """
            SELECT p.view, p.version_id, p.cut, v.table_name, v.definition, v.typed
            FROM tandem_publications p JOIN tandem_view_versions v ON v.id = p.version_id
            """, logger: logger)
        var result: [String: PublishedVersion] = [:]
        for try await (view, id, cut, table, definition, typed) in rows.decode((String, Int64, [Int64], String, String, Bool).self) {
            result[view] = PublishedVersion(view: view, id: id, cut: cut, table: table, definition: definition, typed: typed)
        }
        return result
    }

    /// Registers a version being built and creates its (empty) table: `bucket`, `group_key` and
    /// `states` (what Tandem reads back, exactly), then the typed columns (``TypedColumns``).
    func createVersion(view compiled: CompiledView, definition: String, mode: String, cut: [Int64]) async throws -> (id: Int64, table: String) {
        let view = compiled.name
        let rows = try await client.query(
            """
            INSERT INTO tandem_view_versions (view, definition, mode, cut, table_name, state, typed)
            VALUES (\(view), \(definition), \(mode), \(cut), '', 'building', true) RETURNING id
            """, logger: logger)
        var id: Int64 = 0
        for try await value in rows.decode(Int64.self) { id = value }
        let table = Self.tableName(id)
        try await client.query("UPDATE tandem_view_versions SET table_name = \(table) WHERE id = \(id)", logger: logger)
        try await client.query(
            PostgresQuery(
                unsafeSQL:
                    "CREATE TABLE \(Self.quoted(table)) (bucket bigint NOT NULL, group_key bytea NOT NULL, states bytea NOT NULL, \(TypedColumns(compiled).definitions))"
            ),
            logger: logger)
        return (id, table)
    }

    /// Writes every row of `state` into `table` with COPY, in chunks, then indexes the bucket and
    /// each dimension (for SQL users' filters); returns the rows written. (`copyFrom` quotes the
    /// table name itself; ours is `tandem_vv_<digits>`.)
    func copy(_ state: EncodedState, into table: String, view: CompiledView) async throws -> Int {
        let typed = TypedColumns(view)
        try await client.withConnection { connection in
            try await connection.copyFrom(table: table, columns: ["bucket", "group_key", "states"] + typed.names, logger: logger) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(1 << 20)
                for slot in 0..<state.count {
                    let (key, row) = state.row(at: slot)
                    buffer.writeString(String(key.bucket))
                    buffer.writeInteger(UInt8(ascii: "\t"))
                    Self.writeHex(RowCoding.encode(key.group), to: &buffer)
                    buffer.writeInteger(UInt8(ascii: "\t"))
                    Self.writeHex(RowCoding.encode(row), to: &buffer)
                    typed.write(group: key.group, row: row, to: &buffer)
                    buffer.writeInteger(UInt8(ascii: "\n"))
                    if buffer.readableBytes >= 1 << 20 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
        }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE INDEX ON \(Self.quoted(table)) (bucket)"), logger: logger)
        for column in typed.dimensions {
            try await client.query(PostgresQuery(unsafeSQL: "CREATE INDEX ON \(Self.quoted(table)) (\(column.table), bucket)"), logger: logger)
        }
        try await client.query(PostgresQuery(unsafeSQL: "ANALYZE \(Self.quoted(table))"), logger: logger)
        return state.count
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `bytea` in COPY text format: `\\x` then hex (the backslash escaped for COPY).
    static func writeHex(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeStaticString("\\\\x")
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count * 2) { output in
            for (index, byte) in bytes.enumerated() {
                output[2 * index] = hexDigits[Int(byte >> 4)]
                output[2 * index + 1] = hexDigits[Int(byte & 0x0F)]
            }
            return bytes.count * 2
        }
    }

    /// Publishes a built version in one transaction: the publication switches to it, the SQL view
    /// `tandem."<view>"` is re-pointed at its table, and the previous version is retired. Returns
    /// the previous publication's id, if any.
    func publish(view compiled: CompiledView, id: Int64, table: String, cut: [Int64], rows: Int) async throws -> Int64? {
        let view = compiled.name
        let statements = TypedColumns(compiled).viewStatements(table: table, version: id, cut: cut)
        return try await client.withTransaction(logger: logger) { connection in
            // One publish of this view at a time also keeps the SQL view's re-creation serial.
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            var previous: Int64?
            let current = try await connection.query("SELECT version_id FROM tandem_publications WHERE view = \(view) FOR UPDATE", logger: logger)
            for try await value in current.decode(Int64.self) { previous = value }
            try await connection.query(
                """
                INSERT INTO tandem_publications (view, version_id, cut, published_at) VALUES (\(view), \(id), \(cut), now())
                ON CONFLICT (view) DO UPDATE SET version_id = EXCLUDED.version_id, cut = EXCLUDED.cut, published_at = now()
                """, logger: logger)
            try await connection.query(
                "UPDATE tandem_view_versions SET state = 'published', rows_written = \(Int64(rows)), published_at = now() WHERE id = \(id)",
                logger: logger)
            if let previous {
                try await connection.query("UPDATE tandem_view_versions SET state = 'retired' WHERE id = \(previous)", logger: logger)
            }
            return previous
        }
    }

    /// Drops a version's table and marks it (`dropped` after retirement, `failed` for a build
    /// that did not finish).
    func drop(id: Int64, state: String) async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(Self.quoted(Self.tableName(id)))"), logger: logger)
        try await client.query("UPDATE tandem_view_versions SET state = \(state) WHERE id = \(id)", logger: logger)
    }

    /// Forgets a deleted view: its publication goes and every version table is dropped.
    func forget(view: String) async throws {
        var ids: [Int64] = []
        for try await id in try await client.query(
            "SELECT id FROM tandem_view_versions WHERE view = \(view) AND state <> 'dropped'", logger: logger
        ).decode(Int64.self) {
            ids.append(id)
        }
        try await client.query("DELETE FROM tandem_publications WHERE view = \(view)", logger: logger)
        try await client.query(PostgresQuery(unsafeSQL: "DROP VIEW IF EXISTS tandem.\(Self.quoted(view))"), logger: logger)
        for id in ids { try await drop(id: id, state: "dropped") }
    }

    /// Drops tables of versions left `building` by a crash, and of retired versions.
    func cleanUp(keeping published: Set<Int64>) async throws {
        var stale: [(Int64, String)] = []
        for try await (id, state) in try await client.query(
            "SELECT id, state FROM tandem_view_versions WHERE state IN ('building', 'retired')", logger: logger
        ).decode((Int64, String).self) where !published.contains(id) {
            stale.append((id, state))
        }
        for (id, state) in stale { try await drop(id: id, state: state == "building" ? "failed" : "dropped") }
    }

    /// The rows of a version table whose bucket starts in `[from, to)` and, with a `narrowing`
    /// on a text or bigint dimension of a typed table, whose dimension holds one of its values
    /// (the index on that dimension and the bucket serves it).
    func read(_ table: String, from: Int64 = .min, to: Int64 = .max, narrowing: DimensionNarrowing? = nil) async throws -> ViewState {
        var binds = PostgresBindings()
        binds.append(from)
        binds.append(to)
        var sql = "SELECT bucket, group_key, states FROM \(Self.quoted(table)) WHERE bucket >= $1 AND bucket < $2"
        if let narrowing {
            let strings = narrowing.values.compactMap { value -> String? in
                if case .string(let text)? = value { return text }
                return nil
            }
            let integers = narrowing.values.compactMap { value -> Int64? in
                if case .int(let number)? = value { return number }
                return nil
            }
            if strings.count == narrowing.values.count {
                binds.append(strings)
                sql += " AND d_\(narrowing.dimension) = ANY($3)"
            } else if integers.count == narrowing.values.count {
                binds.append(integers)
                sql += " AND d_\(narrowing.dimension) = ANY($3)"
            }
        }
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        var state = ViewState()
        for try await (bucket, key, states) in rows.decode((Int64, ByteBuffer, ByteBuffer).self) {
            let group = try RowCoding.decodeKey(Array(key.readableBytesView))
            state.rows[StateKey(bucket: bucket, group: group)] = try RowCoding.decodeRow(Array(states.readableBytesView))
        }
        return state
    }
}
