import Events
import Testing

/// Encodes and decodes under `definition`.
func codecRoundTrip(_ values: [FieldValue?], definition: StreamDefinition, schemaVersion: Int = 1) throws -> [FieldValue?] {
    var bytes: [UInt8] = []
    RecordCodec.encode(values, schemaVersion: schemaVersion, into: &bytes)
    return try bytes.withUnsafeBytes { try RecordCodec.decode($0, definition: definition) }
}

/// FieldValue equality that tells NaN payloads and signed zeros apart.
func sameBits(_ a: FieldValue?, _ b: FieldValue?) -> Bool {
    if case .double(let x)? = a, case .double(let y)? = b { return x.bitPattern == y.bitPattern }
    return a == b
}

@Suite("RecordCodec")
struct RecordCodecTests {
    static func definition(_ types: [FieldType]) -> StreamDefinition {
        StreamDefinition(name: "s", fields: types.enumerated().map { FieldDefinition(name: "f\($0.offset)", type: $0.element) })
    }

    static let samples: [FieldType: [FieldValue]] = [
        .string: [.string(""), .string("hello"), .string("é中😀"), .string("a\u{0}b\"\\\n"), .string(String(repeating: "x", count: 300))],
        .int: [.int(0), .int(1), .int(-1), .int(63), .int(-64), .int(64), .int(-65), .int(Int64.max), .int(Int64.min), .int(1 << 40)],
        .double: [
            .double(0), .double(-0.0), .double(1.5), .double(-2.25e-300), .double(.infinity), .double(-.infinity),
            .double(.nan), .double(.greatestFiniteMagnitude), .double(.leastNonzeroMagnitude), .double(0.1),
        ],
        .bool: [.bool(true), .bool(false)],
        .timestamp: [
            .timestamp(0), .timestamp(-1), .timestamp(1_767_225_600_123), .timestamp(-62_135_596_800_000),
            .timestamp(Int64.max), .timestamp(Int64.min),
        ],
    ]

    @Test("every value of every type round-trips", arguments: FieldType.allCases)
    func roundTripsType(type: FieldType) throws {
        let definition = Self.definition([type])
        for value in try #require(Self.samples[type]) {
            #expect(value.type == type)
            let decoded = try codecRoundTrip([value], definition: definition)
            #expect(decoded.count == 1)
            #expect(sameBits(decoded[0], value), "\(value)")
        }
        #expect(try codecRoundTrip([nil], definition: definition) == [nil])
    }

    @Test("mixed records with absent fields round-trip, over many fields")
    func roundTripsMixed() throws {
        var random = UInt64(12345)
        func next() -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: random >> 33)
        }
        for fieldCount in [1, 7, 8, 9, 16, 17, 40] {
            let types = (0..<fieldCount).map { FieldType.allCases[($0 * 7 + fieldCount) % FieldType.allCases.count] }
            let definition = Self.definition(types)
            for _ in 0..<30 {
                let values: [FieldValue?] = types.map { type in
                    let options = Self.samples[type]!
                    let pick = next() % (options.count + 2)
                    return pick < options.count ? options[pick] : nil
                }
                let decoded = try codecRoundTrip(values, definition: definition, schemaVersion: fieldCount)
                #expect(decoded.count == fieldCount)
                for (a, b) in zip(decoded, values) { #expect(sameBits(a, b)) }
                // forEachField visits present fields in schema order
                var bytes: [UInt8] = []
                RecordCodec.encode(values, schemaVersion: fieldCount, into: &bytes)
                var visited: [Int] = []
                try bytes.withUnsafeBytes { raw in
                    try RecordCodec.forEachField(raw, definition: definition) { index, value in
                        visited.append(index)
                        #expect(value.type == types[index])
                    }
                    #expect(RecordCodec.schemaVersion(of: raw) == fieldCount)
                }
                #expect(visited == values.indices.filter { values[$0] != nil })
            }
        }
    }

    @Test("encode appends after existing bytes")
    func encodeAppends() throws {
        var bytes: [UInt8] = [9, 9, 9]
        RecordCodec.encode([.int(5), .string("x")], schemaVersion: 300, into: &bytes)
        #expect(Array(bytes.prefix(3)) == [9, 9, 9])
        #expect(bytes[3] == RecordCodec.formatVersion)
        let decoded = try bytes.withUnsafeBytes {
            try RecordCodec.decode(UnsafeRawBufferPointer(rebasing: $0[3...]), definition: Self.definition([.int, .string]))
        }
        #expect(decoded == [.int(5), .string("x")])
        #expect(bytes.withUnsafeBytes { RecordCodec.schemaVersion(of: UnsafeRawBufferPointer(rebasing: $0[3...])) } == 300)
    }

    @Test("a record written before fields were added decodes with the new fields absent")
    func decodesUnderEvolvedSchema() throws {
        let v1 = StreamDefinition(
            name: "s",
            fields: [
                FieldDefinition(name: "ts", type: .timestamp), FieldDefinition(name: "user", type: .string),
            ])
        var request = v1
        request.fields += [FieldDefinition(name: "score", type: .double), FieldDefinition(name: "vip", type: .bool)]
        let v2 = try v1.evolved(to: request)
        #expect(v2.version == 2)
        var old: [UInt8] = []
        RecordCodec.encode([.timestamp(77), .string("ann")], schemaVersion: v1.version, into: &old)
        let decoded = try old.withUnsafeBytes { try RecordCodec.decode($0, definition: v2) }
        #expect(decoded.count == 4)
        #expect(decoded[v2.fieldIndex("ts")!] == .timestamp(77))
        #expect(decoded[v2.fieldIndex("user")!] == .string("ann"))
        #expect(decoded[v2.fieldIndex("score")!] == nil)
        #expect(decoded[v2.fieldIndex("vip")!] == nil)
        #expect(old.withUnsafeBytes { RecordCodec.schemaVersion(of: $0) } == 1)
        // and a new record decodes fully
        var new: [UInt8] = []
        var values = [FieldValue?](repeating: nil, count: 4)
        values[v2.fieldIndex("vip")!] = .bool(true)
        values[v2.fieldIndex("user")!] = .string("bo")
        RecordCodec.encode(values, schemaVersion: v2.version, into: &new)
        #expect(try new.withUnsafeBytes { try RecordCodec.decode($0, definition: v2) } == values)
    }

    @Test(
        "damaged records do not decode",
        arguments: [
            [UInt8](), [0], [2, 1, 1, 0], [1], [1, 1], [1, 0x80], [1, 1, 9], [1, 1, 1, 1], [1, 1, 1, 1, 0x80], [1, 1, 2, 3, 4],
        ])
    func damaged(bytes: [UInt8]) {
        let definition = Self.definition([.int, .string])
        #expect(throws: RecordCodec.DecodingError.self) { try bytes.withUnsafeBytes { try RecordCodec.decode($0, definition: definition) } }
    }

    @Test("truncations of a valid record do not decode")
    func truncations() {
        let definition = Self.definition([.string, .int, .double, .bool, .timestamp])
        var bytes: [UInt8] = []
        RecordCodec.encode(
            [.string("hello"), .int(-123_456_789), .double(2.5), .bool(true), .timestamp(1_767_225_600_000)], schemaVersion: 1, into: &bytes)
        for length in 0..<bytes.count {
            #expect(throws: RecordCodec.DecodingError.self, "length \(length)") {
                try bytes.withUnsafeBytes { try RecordCodec.decode(UnsafeRawBufferPointer(rebasing: $0[..<length]), definition: definition) }
            }
        }
    }

    @Test("a record with a field the reader's schema lacks does not decode")
    func fieldBeyondSchema() throws {
        var bytes: [UInt8] = []
        RecordCodec.encode([.int(1), .int(2)], schemaVersion: 2, into: &bytes)
        let error = #expect(throws: RecordCodec.DecodingError.self) {
            try bytes.withUnsafeBytes { try RecordCodec.decode($0, definition: Self.definition([.int])) }
        }
        #expect(error?.description.hasPrefix("undecodable record") == true)
        // absent extra fields are fine
        var sparse: [UInt8] = []
        RecordCodec.encode([.int(1), nil], schemaVersion: 2, into: &sparse)
        #expect(try sparse.withUnsafeBytes { try RecordCodec.decode($0, definition: Self.definition([.int])) } == [.int(1)])
    }
}
