import Aggregation
import Catalog
import Events
import Logging
import Synchronization
import TandemTestSupport
import Testing

@Suite("Catalog over files")
struct FileCatalogTests {
    static let logger = Logger(label: "catalog-test")

    static func stream(_ name: String, partitions: Int = 1, extraField: String? = nil) -> StreamDefinition {
        var fields = [FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "url", type: .string)]
        if let extraField { fields.append(FieldDefinition(name: extraField, type: .int)) }
        return StreamDefinition(name: name, partitions: partitions, fields: fields, timeField: "ts", version: 7)
    }

    static func view(_ name: String, bucket: Int64 = 60_000) -> ViewDefinition {
        ViewDefinition(name: name, stream: "pageviews", dimensions: ["url"], bucketMilliseconds: bucket, aggregates: [("n", AggregateSpec(.count))])
    }

    @Test("a stream is created at version 1, evolves to version 2, and an identical definition changes nothing")
    func streamLifecycle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let catalog = StreamCatalog(store: FileDefinitionStore(root: directory.path), logger: Self.logger)
        let (created, first) = try await catalog.define(Self.stream("pageviews"))
        #expect(first == .created)
        #expect(created.version == 1)
        let (same, second) = try await catalog.define(Self.stream("pageviews"))
        #expect(second == .unchanged)
        #expect(same == created)
        let (evolved, third) = try await catalog.define(Self.stream("pageviews", extraField: "latency"))
        #expect(third == .updated)
        #expect(evolved.version == 2)
        #expect(catalog["pageviews"] == evolved)

        let reloaded = StreamCatalog(store: FileDefinitionStore(root: directory.path), logger: Self.logger)
        try await reloaded.load()
        #expect(reloaded.all == [evolved])
    }

    @Test("a stream that is invalid or conflicts is refused with its field named, and nothing is stored")
    func streamRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileDefinitionStore(root: directory.path)
        let catalog = StreamCatalog(store: store, logger: Self.logger)
        var invalid = Self.stream("pageviews")
        invalid.partitions = 0
        await #expect(throws: SchemaError.self) { try await catalog.define(invalid) }
        #expect(try await store.loadAll(kind: StreamDefinition.kind).isEmpty)
        try await catalog.define(Self.stream("pageviews"))
        var retyped = Self.stream("pageviews")
        retyped.fields[1] = FieldDefinition(name: "url", type: .int)
        do {
            try await catalog.define(retyped)
            Issue.record("a changed field type was accepted")
        } catch let error as SchemaError {
            #expect(error.code == .streamConflict)
        }
        #expect(catalog["pageviews"]?.fields[1].type == .string)
    }

    @Test("the stream and partition limits hold, also under concurrent definitions")
    func streamLimits() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let catalog = StreamCatalog(
            store: FileDefinitionStore(root: directory.path), limits: CatalogLimits(maxStreams: 5, maxPartitions: 100), logger: Self.logger)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<20 {
                group.addTask { (try? await catalog.define(Self.stream("s\(index)"))) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(accepted == 5)
        #expect(catalog.all.count == 5)
        do {
            try await catalog.define(Self.stream("more"))
            Issue.record("a sixth stream was accepted")
        } catch let error as SchemaError {
            #expect(error.code == .tooManyStreams)
            #expect(error.field == "name")
        }

        let partitioned = StreamCatalog(
            store: FileDefinitionStore(root: directory.path + "/p"), limits: CatalogLimits(maxPartitions: 10), logger: Self.logger)
        try await partitioned.define(Self.stream("a", partitions: 6))
        do {
            try await partitioned.define(Self.stream("b", partitions: 5))
            Issue.record("partitions over the limit were accepted")
        } catch let error as SchemaError {
            #expect(error.code == .tooManyPartitions)
        }
        try await partitioned.define(Self.stream("b", partitions: 4))
    }

    @Test("materialize runs before an entry is stored and as it loads; when it throws, nothing is stored")
    func materialize() async throws {
        struct Refused: Error {}
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileDefinitionStore(root: directory.path)
        let seen = Mutex<[String]>([])
        let catalog = StreamCatalog(store: store, logger: Self.logger) { stream in
            guard stream.name != "refused" else { throw Refused() }
            seen.withLock { $0.append(stream.name) }
        }
        try await catalog.define(Self.stream("kept"))
        await #expect(throws: Refused.self) { try await catalog.define(Self.stream("refused")) }
        #expect(catalog["refused"] == nil)
        #expect(try await store.loadAll(kind: StreamDefinition.kind).keys.sorted() == ["kept"])

        let reloaded = StreamCatalog(store: store, logger: Self.logger) { stream in seen.withLock { $0.append("load:\(stream.name)") } }
        try await reloaded.load()
        #expect(seen.withLock { $0 } == ["kept", "load:kept"])
    }

    @Test("a view is never changed in place, counts against max_views, and can be removed")
    func viewLifecycle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = FileDefinitionStore(root: directory.path)
        let catalog = ViewCatalog(store: store, limits: CatalogLimits(maxViews: 2), logger: Self.logger)
        #expect(try await catalog.define(Self.view("a")).1 == .created)
        #expect(try await catalog.define(Self.view("a")).1 == .unchanged)
        do {
            try await catalog.define(Self.view("a", bucket: 3_600_000))
            Issue.record("a changed view was accepted")
        } catch let error as ViewError {
            #expect(error.code == .viewConflict)
        }
        try await catalog.define(Self.view("b"))
        do {
            try await catalog.define(Self.view("c"))
            Issue.record("a third view was accepted")
        } catch let error as ViewError {
            #expect(error.code == .tooManyViews)
        }
        #expect(try await catalog.remove("a"))
        #expect(try await catalog.remove("a") == false)
        try await catalog.define(Self.view("c"))

        let reloaded = ViewCatalog(store: store, logger: Self.logger)
        try await reloaded.load()
        #expect(reloaded.all.map(\.name) == ["b", "c"])
        #expect(reloaded["b"] == Self.view("b"))
    }
}
