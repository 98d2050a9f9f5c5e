import Aggregation
import Events
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The batch layer's PostgreSQL side: version tables written with COPY, the catalog of versions
/// and publications, and reads of published rows. Every value is a bind parameter; the only
/// identifiers built are version tables named from their numeric id.
struct BatchStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// The COPYs under way, which a shutdown waits for (``CopiesInFlight``).
    let copies = CopiesInFlight()

    static func tableName(_ id: Int64) -> String { "tandem_vv_\(id)" }

    /// A quoted identifier (doubling quotes), for the table names built here.
    static func quoted(_ identifier: String) -> String { "\"" + identifier.replacing("\"", with: "\"\"") + "\"" }

    func loadPublications() async throws -> [String: PublishedVersion] {
        let rows = try await client.query(
            """
            SELECT p.view, p.version_id, p.cut, v.log_id, v.max_event_times, v.table_name, v.definition, v.typed
            FROM tandem_publications p JOIN tandem_view_versions v ON v.id = p.version_id
            """, logger: logger)
        var result: [String: PublishedVersion] = [:]
        for try await (view, id, cut, logID, maxima, table, definition, typed) in rows.decode(
            (String, Int64, [Int64], String?, [Int64]?, String, String, Bool).self)
        {
            result[view] = PublishedVersion(
                view: view, id: id, cut: cut, logID: logID, maxEventTimes: maxima.map(Self.maxEventTimes(stored:)), table: table,
                definition: definition, typed: typed)
        }
        return result
    }

    /// A partition without records below a cut has no largest event time: stored as the least
    /// `bigint`, which no event time can be (``Timestamp/supportedRange``).
    static func stored(maxEventTimes: [Int64?]) -> [Int64] { maxEventTimes.map { $0 ?? .min } }

    /// The largest event times as ``stored(maxEventTimes:)`` wrote them.
    static func maxEventTimes(stored: [Int64]) -> [Int64?] { stored.map { $0 == .min ? nil : $0 } }

    /// Registers a version being built and creates its (empty) table: `bucket`, `group_key` and
    /// `states` (what Tandem reads back, exactly), then the typed columns (``TypedColumns``).
    func createVersion(
        view compiled: CompiledView, definition: String, mode: String, cut: [Int64], logID: String, maxEventTimes: [Int64?]
    ) async throws -> (id: Int64, table: String) {
        let view = compiled.name
        let maxima = Self.stored(maxEventTimes: maxEventTimes)
        let rows = try await client.query(
            """
            INSERT INTO tandem_view_versions (view, definition, mode, cut, log_id, max_event_times, table_name, state, typed)
            VALUES (\(view), \(definition), \(mode), \(cut), \(logID), \(maxima), '', 'building', true) RETURNING id
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
    /// each dimension (for SQL users' filters), two index builds at a time, and analyzes the table;
    /// returns the rows written. (`copyFrom` quotes the table name itself; ours is
    /// `tandem_vv_<digits>`.)
    ///
    /// Each distinct dimension value is encoded once (its group-key bytes in hex and its typed
    /// text), and rows are written in ``copyOrder(_:)``, so a row costs no allocation.
    func copy(_ state: EncodedState, into table: String, view: CompiledView) async throws -> Int {
        let typed = TypedColumns(view)
        let dimensions = state.dimensionCount
        let texts = (0..<dimensions).map { CopyTexts(state.values(of: $0)) }
        var header: [UInt8] = []
        RowCoding.appendKeyHeader(count: dimensions, to: &header)
        let order = Self.copyOrder(state)
        try await copies.track {
            try await client.withConnection { connection in
                try await connection.copyFrom(table: table, columns: ["bucket", "group_key", "states"] + typed.names, logger: logger) { writer in
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(1 << 20 + 1 << 16)
                    var encoded: [UInt8] = [], scratch: [UInt8] = []
                    for slot in order {
                        let slot = Int(slot)
                        TypedColumns.writeInteger(state.bucket(at: slot), to: &buffer)
                        buffer.writeInteger(UInt8(ascii: "\t"))
                        Self.writeHex(header, to: &buffer)
                        for dimension in 0..<dimensions { texts[dimension].writeKeyHex(state.code(at: slot, dimension: dimension), to: &buffer) }
                        buffer.writeInteger(UInt8(ascii: "\t"))
                        let states = state.states(at: slot)
                        encoded.removeAll(keepingCapacity: true)
                        // A row's late count is written only when it holds late records: read
                        // back, a row without one has none (``read(_:width:from:to:narrowing:)``).
                        let late = state.lateCount(at: slot)
                        RowCoding.append(states, then: late == 0 ? nil : .count(late), to: &encoded, scratch: &scratch)
                        Self.writeHex(encoded, to: &buffer)
                        for dimension in 0..<dimensions {
                            buffer.writeInteger(UInt8(ascii: "\t"))
                            texts[dimension].writeTyped(state.code(at: slot, dimension: dimension), to: &buffer)
                        }
                        typed.write(states: states, to: &buffer)
                        buffer.writeInteger(UInt8(ascii: "\n"))
                        if buffer.readableBytes >= 1 << 20 {
                            // A cancelled job ends its COPY (CopyFail) instead of feeding it.
                            try Task.checkCancellation()
                            try await writer.write(buffer)
                            buffer.clear()
                        }
                    }
                    try Task.checkCancellation()
                    if buffer.readableBytes > 0 { try await writer.write(buffer) }
                }
            }
        }
        let quoted = Self.quoted(table)
        let indexes = ["CREATE INDEX ON \(quoted) (bucket)"] + typed.dimensions.map { "CREATE INDEX ON \(quoted) (\($0.table), bucket)" }
        // Index builds take share locks, which do not conflict: two run at once, one per core of a
        // small machine, each on a pooled connection of its own.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (position, statement) in indexes.enumerated() {
                if position >= 2 { try await group.next() }
                group.addTask { try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            }
            try await group.waitForAll()
        }
        try await client.query(PostgresQuery(unsafeSQL: "ANALYZE \(quoted)"), logger: logger)
        return state.count
    }

    /// The slots of `state` in the order COPY writes them: by the first dimension's value (the
    /// order of its typed column: byte order for text, nulls last), then by bucket, so that
    /// PostgreSQL builds the index on (`d_0`, `bucket`) from presorted rows, about twice as fast.
    /// Values are ranked once, then slots are placed by a counting sort on the rank; a first
    /// dimension of more than 2^18 values is taken in code order, since ranking so many costs
    /// more than it saves.
    static func copyOrder(_ state: EncodedState) -> [Int32] {
        let count = state.count
        guard state.dimensionCount > 0, count > 1 else { return (0..<Int32(count)).map { $0 } }
        let values = state.values(of: 0)
        var rank = [Int32](repeating: 0, count: values.count)
        if values.count <= 1 << 18 {
            let sorted = values.indices.sorted { Self.precedes(values[$0], values[$1]) }
            for (position, code) in sorted.enumerated() { rank[code] = Int32(position) }
        } else {
            for code in rank.indices { rank[code] = Int32(code) }
        }
        // Counting sort on the rank: `starts[r]` is where rank r's slots begin.
        var starts = [Int](repeating: 0, count: values.count + 1)
        for slot in 0..<count { starts[Int(rank[Int(state.code(at: slot, dimension: 0))]) + 1] += 1 }
        for position in 1..<starts.count { starts[position] += starts[position - 1] }
        var next = starts
        var order = [Int32](repeating: 0, count: count)
        for slot in 0..<count {
            let r = Int(rank[Int(state.code(at: slot, dimension: 0))])
            order[next[r]] = Int32(slot)
            next[r] += 1
        }
        for r in 0..<values.count where starts[r + 1] - starts[r] > 1 {
            order[starts[r]..<starts[r + 1]].sort { state.bucket(at: Int($0)) < state.bucket(at: Int($1)) }
        }
        return order
    }

    /// The ascending order of a typed column: text by bytes (the "C" collation), nulls last.
    private static func precedes(_ a: FieldValue?, _ b: FieldValue?) -> Bool {
        switch (a, b) {
        case (nil, _): return false
        case (_, nil): return true
        case (.string(let x)?, .string(let y)?): return x.utf8.lexicographicallyPrecedes(y.utf8)
        case (let x?, let y?): return FieldValueOrder.compare(x, y) == .less
        }
    }

    /// One dimension's distinct values encoded once for COPY: each value's group-key bytes in hex
    /// and its typed text, back to back, found by code.
    struct CopyTexts {
        private var keyHex: [UInt8] = []
        private var keyEnds: [Int] = []
        private var typed: [UInt8] = []
        private var typedEnds: [Int] = []

        init(_ values: [FieldValue?]) {
            keyEnds.reserveCapacity(values.count)
            typedEnds.reserveCapacity(values.count)
            var bytes: [UInt8] = []
            var text = ByteBuffer()
            for value in values {
                bytes.removeAll(keepingCapacity: true)
                RowCoding.appendKeyValue(value, to: &bytes)
                for byte in bytes {
                    keyHex.append(BatchStore.hexDigits[Int(byte >> 4)])
                    keyHex.append(BatchStore.hexDigits[Int(byte & 0x0F)])
                }
                keyEnds.append(keyHex.count)
                text.clear()
                TypedColumns.writeDimension(value, to: &text)
                typed.append(contentsOf: text.readableBytesView)
                typedEnds.append(typed.count)
            }
        }

        /// Appends the hex digits of the value's group-key bytes.
        func writeKeyHex(_ code: UInt32, to buffer: inout ByteBuffer) {
            let code = Int(code)
            buffer.writeBytes(keyHex[(code == 0 ? 0 : keyEnds[code - 1])..<keyEnds[code]])
        }

        /// Appends the value's typed text.
        func writeTyped(_ code: UInt32, to buffer: inout ByteBuffer) {
            let code = Int(code)
            buffer.writeBytes(typed[(code == 0 ? 0 : typedEnds[code - 1])..<typedEnds[code]])
        }
    }

    fileprivate static let hexDigits = Array("0123456789abcdef".utf8)

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
    /// - Parameter epoch: the runner epoch this server was elected with (``RunnerLease``), when
    ///   several servers share the database: the publish commits only if no other server has
    ///   been elected since (the row lock also waits for an election in flight).
    func publish(view compiled: CompiledView, id: Int64, table: String, cut: [Int64], rows: Int, epoch: Int64? = nil) async throws -> Int64? {
        let view = compiled.name
        let statements = TypedColumns(compiled).viewStatements(table: table, version: id, cut: cut)
        return try await client.withTransaction(logger: logger) { connection in
            if let epoch {
                var current: Int64?
                for try await value in try await connection.query("SELECT epoch FROM tandem_runner WHERE id = 1 FOR SHARE", logger: logger)
                    .decode(Int64.self)
                {
                    current = value
                }
                guard current == epoch else {
                    throw BatchError(
                        .notRunner,
                        "this server is no longer the batch runner (elected with epoch \(epoch), the database's is \(current.map(String.init) ?? "none")): another server took over, and runs the job again"
                    )
                }
            }
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

    /// The id of the version a view's publication points at, if any: how an attempt whose
    /// publish failed learns whether the COMMIT went through.
    func publishedID(view: String) async throws -> Int64? {
        var id: Int64?
        for try await value in try await client.query("SELECT version_id FROM tandem_publications WHERE view = \(view)", logger: logger)
            .decode(Int64.self)
        {
            id = value
        }
        return id
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
    ///
    /// - Parameter width: the states in a row of the view (``CompiledView/stateWidth``). A row
    ///   without late records is stored without its late count, as are the rows of versions built
    ///   before rows carried one (such versions say so: ``PublishedVersion/countsLateRecords``);
    ///   they get an empty one.
    func read(
        _ table: String, width: Int, from: Int64 = .min, to: Int64 = .max, narrowing: DimensionNarrowing? = nil
    ) async throws -> ViewState {
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
            var row = try RowCoding.decodeRow(Array(states.readableBytesView))
            if row.count == width - 1 { row.append(.count(0)) }
            guard row.count == width else { throw BatchError(.unavailable, "\(table) holds a row of \(row.count) states, not \(width)") }
            state.rows[StateKey(bucket: bucket, group: group)] = row
        }
        return state
    }
}

/// Counts the COPYs under way, so that a shutdown can wait for them before the client closes its
/// connections: PostgresNIO 1.33.2 traps (a precondition in `ConnectionStateMachine`) when a
/// connection is closed while a COPY waits for data. A job's deadline or cancellation releases
/// the job at once (``withDeadline(_:timeoutError:_:)``), but its COPY still runs until the
/// writer sees the cancellation and fails it.
final class CopiesInFlight: Sendable {
    private let count = Mutex(0)

    private var running: Int { count.withLock { $0 } }

    /// Runs `body` as one COPY under way.
    func track<T>(_ body: () async throws -> T) async rethrows -> T {
        count.withLock { $0 += 1 }
        defer { count.withLock { $0 -= 1 } }
        return try await body()
    }

    /// Waits until no COPY is under way, at most `limit`, even from a cancelled task; returns
    /// how many are still running then.
    @discardableResult
    func drained(within limit: Duration) async -> Int {
        await Task {
            let deadline = ContinuousClock.now + limit
            while self.running > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            return self.running
        }.value
    }
}
