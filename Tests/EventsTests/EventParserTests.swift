import Events
import TandemTestSupport
import Testing

@Suite("EventParser")
struct EventParserTests {
    static let orders = StreamDefinition(
        name: "orders", partitions: 4,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp),
            FieldDefinition(name: "user", type: .string, required: true),
            FieldDefinition(name: "amount", type: .double),
            FieldDefinition(name: "count", type: .int),
            FieldDefinition(name: "paid", type: .bool),
            FieldDefinition(name: "note", type: .string),
        ],
        timeField: "ts", keyField: "user", defaultTime: .ingest)

    static var dropping: StreamDefinition {
        var definition = orders
        definition.unknownFields = .drop
        return definition
    }

    static let unbounded = EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil)

    static func values(ts: Int64? = nil, user: String, amount: Double? = nil, count: Int64? = nil, paid: Bool? = nil, note: String? = nil)
        -> [FieldValue?]
    {
        [
            ts.map(FieldValue.timestamp), .string(user), amount.map(FieldValue.double), count.map(FieldValue.int), paid.map(FieldValue.bool),
            note.map(FieldValue.string),
        ]
    }

    // MARK: Bodies

    @Test("a single JSON object")
    func singleObject() {
        let run = parse(#"{"ts":"2026-01-01T00:00:00.500Z","user":"u1","amount":12.5,"count":3,"paid":true,"note":null}"#, Self.orders)
        #expect(run.summary.events == 1)
        #expect(run.summary.invalidEvents == 0)
        #expect(!run.summary.exceededLimit)
        #expect(
            run.emitted == [
                Emitted(
                    index: 0, eventTime: ingestTime + 500, key: Array("u1".utf8),
                    values: Self.values(ts: ingestTime + 500, user: "u1", amount: 12.5, count: 3, paid: true))
            ])
    }

    @Test("a JSON array, with whitespace everywhere")
    func jsonArray() {
        let body =
            " \n[ {\"user\" : \"a\" , \"count\":-7 }\t,\r\n{ \"paid\":false,\"user\":\"b\",\"amount\":-0.25e2} ,{\"user\":\"c\",\"ts\":1767225600001} ] \n"
        let run = parse(body, Self.orders)
        #expect(run.summary.events == 3)
        #expect(
            run.emitted == [
                Emitted(index: 0, eventTime: ingestTime, key: Array("a".utf8), values: Self.values(user: "a", count: -7)),
                Emitted(index: 1, eventTime: ingestTime, key: Array("b".utf8), values: Self.values(user: "b", amount: -25, paid: false)),
                Emitted(index: 2, eventTime: ingestTime + 1, key: Array("c".utf8), values: Self.values(ts: ingestTime + 1, user: "c")),
            ])
    }

    @Test("an empty array holds no events")
    func emptyArray() {
        for body in ["[]", " [ ] ", "[\n]"] {
            let run = parse(body, Self.orders)
            #expect(run.summary.events == 0)
            #expect(run.emitted.isEmpty)
        }
    }

    @Test("NDJSON with blank lines, CRLF and a missing final newline: indexes are line numbers")
    func ndjson() {
        let body = "{\"user\":\"a\"}\n\n  \n{\"user\":\"b\",\"count\":2}\r\n\t\r\n{\"user\":\"c\"}"
        let run = parse(body, Self.orders, format: .ndjson)
        #expect(run.summary.events == 3)
        #expect(run.emitted.map(\.index) == [0, 3, 5])
        #expect(run.emitted.map(\.values) == [Self.values(user: "a"), Self.values(user: "b", count: 2), Self.values(user: "c")])
        #expect(parse("", Self.orders, format: .ndjson).summary.events == 0)
        #expect(parse("\n\n\n", Self.orders, format: .ndjson).summary.events == 0)
    }

    // MARK: Issues

    @Test(
        "invalid JSON",
        arguments: [
            "", "   ", "{", #"{"user":}"#, #"{"user" "a"}"#, #"{"user":"a",}"#, #"{"user":"a"} x"#, #"{user:"a"}"#,
            #"{"user":'a'}"#, #"{"user":"a""#, #"{"user":"a\q"}"#, #"{"user":"\ud83d"}"#, #"{"user":"\ude00"}"#,
            #"{"user":"\u12"}"#, #"{"user":"\u12G4"}"#, #"{"user":"a","count":01}"#, #"{"user":"a","count":1.}"#,
            #"{"user":"a","count":-}"#, #"{"user":"a","count":1e}"#, #"{"user":"a","paid":tru}"#, #"{"user":"a","note":nul}"#,
            "[", "[{\"user\":\"a\"}", "[{\"user\":\"a\"},]", "[{\"user\":\"a\"} {\"user\":\"b\"}]", "{\"user\":\"a\tb\"}", "nope", "\"text\"",
            "{\"user\":\"a\",\"x\":[1,2}", "{\"user\":\"a\"}{\"user\":\"b\"}",
        ])
    func invalidJSON(body: String) {
        let run = parse(body, Self.dropping)
        #expect(run.codes.contains(.invalidJSON))
        #expect(run.summary.invalidEvents >= 1)
        #expect(run.summary.issues.first { $0.code == .invalidJSON }?.field == nil)
    }

    @Test("invalid UTF-8 in a string is invalid JSON")
    func invalidUTF8() {
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] {
            let body = Array(#"{"user":"a"#.utf8) + bad + Array(#""}"#.utf8)
            let run = parse(body, Self.orders)
            #expect(run.codes == [.invalidJSON], "\(bad)")
            #expect(run.emitted.isEmpty)
        }
    }

    @Test("invalid JSON on one NDJSON line: the other lines still parse, indexes are line numbers")
    func invalidJSONInNDJSON() {
        let body = """
            {"user":"a"}

            {"user":"b",
            {"user":"c"}
            {"user":"d","count":"x"}
            {"user":"e"}
            """
        let run = parse(body, Self.orders, format: .ndjson)
        #expect(run.summary.events == 5)
        #expect(run.summary.invalidEvents == 2)
        #expect(run.codes == [.invalidJSON, .typeMismatch])
        #expect(run.issueIndexes == [2, 4])
        #expect(run.issueFields == [nil, "count"])
        // only the event before the first invalid one reached the sink
        #expect(run.emitted.map(\.index) == [0])
        // a line that is not an object is invalid JSON in NDJSON
        let notObject = parse("{\"user\":\"a\"}\n[1]\n7\n", Self.orders, format: .ndjson)
        #expect(notObject.codes == [.invalidJSON, .invalidJSON])
        #expect(notObject.issueIndexes == [1, 2])
    }

    @Test("events that are not objects")
    func notAnObject() {
        let run = parse(#"[1, "x", [1, {"user":"y"}], null, true, {"user":"ok"}, -2.5e3]"#, Self.orders)
        #expect(run.summary.events == 7)
        #expect(run.summary.invalidEvents == 6)
        #expect(run.codes == Array(repeating: .notAnObject, count: 6))
        #expect(run.issueIndexes == [0, 1, 2, 3, 4, 6])
        #expect(run.emitted.isEmpty)
    }

    @Test(
        "type mismatches name the field",
        arguments: [
            ("note", "5"), ("note", "true"), ("note", "{\"a\":1}"), ("note", "[\"a\"]"),
            ("amount", "\"1.5\""), ("amount", "false"), ("count", "\"3\""), ("count", "1.5"), ("count", "1e-3"), ("count", "[]"),
            ("paid", "1"), ("paid", "\"true\""), ("paid", "0"), ("ts", "\"yesterday\""), ("ts", "false"), ("ts", "1.5"),
            ("ts", "\"2026-02-30T00:00:00Z\""), ("ts", "\"2026-01-01\""), ("ts", "{}"),
        ])
    func typeMismatch(field: String, json: String) {
        let run = parse("[{\"user\":\"a\",\"\(field)\":\(json)}]", Self.orders)
        #expect(run.codes == [.typeMismatch])
        #expect(run.issueFields == [field])
        #expect(run.issueIndexes == [0])
        #expect(run.summary.invalidEvents == 1)
        #expect(run.emitted.isEmpty)
    }

    @Test("a required field with a wrong value is a type mismatch, not also missing")
    func requiredMismatch() {
        let run = parse(#"[{"user":5},{"user":"a","user":"b"},{"user":[],"user":"c"}]"#, Self.orders)
        #expect(run.codes == [.typeMismatch, .duplicateField, .typeMismatch, .duplicateField])
        #expect(run.issueIndexes == [0, 1, 2, 2])
        #expect(run.issueFields == ["user", "user", "user", "user"])
        #expect(run.summary.invalidEvents == 3)
        #expect(run.emitted.isEmpty)
    }

    @Test("missing fields: absent or null required fields, and a time field with no default")
    func missingField() {
        let run = parse(#"[{"count":1}, {"user":null}, {"user":"a"}]"#, Self.orders)
        #expect(run.codes == [.missingField, .missingField])
        #expect(run.issueIndexes == [0, 1])
        #expect(run.issueFields == ["user", "user"])
        #expect(run.summary.invalidEvents == 2)
        #expect(run.emitted.isEmpty)

        var noDefault = Self.orders
        noDefault.defaultTime = nil
        let timed = parse(#"[{"user":"a","ts":"2026-01-01T00:00:00Z"}, {"user":"b"}, {"user":"c","ts":null}]"#, noDefault)
        #expect(timed.codes == [.missingField, .missingField])
        #expect(timed.issueIndexes == [1, 2])
        #expect(timed.issueFields == ["ts", "ts"])
        #expect(timed.emitted.map(\.index) == [0])

        // with default_time ingest the ingest time is the event time
        let defaulted = parse(#"{"user":"a","ts":null}"#, Self.orders, ingestTime: 123_456)
        #expect(defaulted.emitted.map(\.eventTime) == [123_456])
        #expect(defaulted.emitted.first?.values[0] == nil)
    }

    @Test("unknown fields: rejected or dropped per the stream's policy")
    func unknownField() {
        let body = #"{"user":"a","extra":{"deep":[1,{"x":null}],"s":"\"}"},"count":4,"more":true}"#
        let rejected = parse(body, Self.orders)
        #expect(rejected.codes == [.unknownField, .unknownField])
        #expect(rejected.issueFields == ["extra", "more"])
        #expect(rejected.emitted.isEmpty)

        let dropped = parse(body, Self.dropping)
        #expect(dropped.emitted == [Emitted(index: 0, eventTime: ingestTime, key: Array("a".utf8), values: Self.values(user: "a", count: 4))])
        // an unknown field that is not valid JSON is still a syntax error
        #expect(parse(#"{"user":"a","extra":[1,}"#, Self.dropping).codes == [.invalidJSON])
    }

    @Test("a field twice in one event")
    func duplicateField() {
        let run = parse(#"[{"user":"a","count":1,"count":2}, {"user":"b","user":"c"}, {"user":"d","note":null,"note":"x"}]"#, Self.orders)
        #expect(run.codes == [.duplicateField, .duplicateField, .duplicateField])
        #expect(run.issueFields == ["count", "user", "note"])
        #expect(run.issueIndexes == [0, 1, 2])
        #expect(run.emitted.isEmpty)
        // a field name written with an escape is the same field
        let escaped = parse(#"{"user":"a","us\u0065r":"b"}"#, Self.orders)
        #expect(escaped.codes == [.duplicateField])
        #expect(escaped.issueFields == ["user"])
    }

    @Test(
        "numbers out of range",
        arguments: [
            ("count", "9223372036854775808"), ("count", "-9223372036854775809"), ("count", "1e30"), ("count", "-1e19"),
            ("count", "123456789012345678901234567890"), ("amount", "1e400"), ("amount", "-1e309"),
        ])
    func outOfRange(field: String, json: String) {
        let run = parse("{\"user\":\"a\",\"\(field)\":\(json)}", Self.orders)
        #expect(run.codes == [.outOfRange])
        #expect(run.issueFields == [field])
        #expect(run.emitted.isEmpty)
    }

    @Test(
        "an integral number for an int or timestamp field keeps its exact value or is refused",
        arguments: [
            ("count", "9007199254740993.0"), ("count", "9007199254740993e0"), ("count", "90071992547409931e-1"),
            ("count", "-9223372036854775807.0"), ("ts", "9007199254740993.0"), ("ts", "-9223372036854775809"),
        ])
    func exactIntegers(field: String, json: String) throws {
        let run = parse("{\"user\":\"a\",\"\(field)\":\(json)}", Self.orders, bounds: Self.unbounded)
        guard let event = run.emitted.first else {
            // refusing the value is fine
            #expect(!run.summary.issues.isEmpty)
            return
        }
        let index = try #require(Self.orders.fieldIndex(field))
        let stored: Int64? =
            switch event.values[index] {
            case .int(let value)?, .timestamp(let value)?: value
            default: nil
            }
        let text = json.split(separator: ".").first.map(String.init) ?? json
        let exact: Int64? =
            switch json {
            case "9007199254740993.0", "9007199254740993e0", "90071992547409931e-1": 9_007_199_254_740_993
            case "-9223372036854775807.0": -9_223_372_036_854_775_807
            default: nil  // not an Int64 at all: must be refused
            }
        #expect(exact != nil, "\(json) is not a 64-bit integer and was accepted as \(String(describing: stored)) (\(text))")
        #expect(stored == exact, "\(json) was stored as \(String(describing: stored))")
    }

    @Test("int and double limits that fit")
    func numbersInRange() {
        let run = parse(
            #"[{"user":"a","count":9223372036854775807},{"user":"b","count":-9223372036854775808},{"user":"c","count":1e3,"amount":1},{"user":"d","count":-0,"amount":1.7976931348623157e308},{"user":"e","amount":5e-324,"count":2.0}]"#,
            Self.orders)
        #expect(
            run.emitted.map(\.values) == [
                Self.values(user: "a", count: Int64.max), Self.values(user: "b", count: Int64.min),
                Self.values(user: "c", amount: 1, count: 1000), Self.values(user: "d", amount: .greatestFiniteMagnitude, count: 0),
                Self.values(user: "e", amount: .leastNonzeroMagnitude, count: 2),
            ])
    }

    @Test("event times outside the bounds")
    func eventTimeBounds() {
        let bounds = EventTimeBounds(maxAgeMilliseconds: 3_600_000, maxFutureMilliseconds: 60_000)
        let body = """
            [{"user":"a","ts":\(ingestTime - 3_600_000)},{"user":"b","ts":\(ingestTime + 60_000)},
             {"user":"c","ts":\(ingestTime - 3_600_001)},{"user":"d","ts":\(ingestTime + 60_001)},
             {"user":"e","ts":"2025-12-31T22:59:59.999Z"}]
            """
        let run = parse(body, Self.orders, bounds: bounds)
        #expect(run.codes == [.eventTimeOutOfBounds, .eventTimeOutOfBounds, .eventTimeOutOfBounds])
        #expect(run.issueIndexes == [2, 3, 4])
        #expect(run.issueFields == ["ts", "ts", "ts"])
        #expect(run.emitted.map(\.index) == [0, 1])
        #expect(run.emitted.map(\.eventTime) == [ingestTime - 3_600_000, ingestTime + 60_000])

        // the default bounds allow any past time and up to a day ahead
        let defaults = parse(
            #"[{"user":"a","ts":"1900-01-01T00:00:00Z"},{"user":"b","ts":"2026-01-02T00:00:00Z"},{"user":"c","ts":"2026-01-02T00:00:00.001Z"}]"#,
            Self.orders)
        #expect(defaults.codes == [.eventTimeOutOfBounds])
        #expect(defaults.issueIndexes == [2])
        #expect(defaults.emitted.map(\.eventTime) == [Timestamp.parse("1900-01-01T00:00:00Z")!, ingestTime + 86_400_000])
    }

    @Test(
        "epoch millisecond and RFC 3339 timestamps",
        arguments: [
            ("1767225600123", Int64(1_767_225_600_123)), ("-1", -1), ("0", 0), ("-62135596800000", -62_135_596_800_000),
            ("\"1969-12-31T23:59:59.999Z\"", -1), ("\"2026-01-01T01:00:00+01:00\"", 1_767_225_600_000),
            ("\"2026-01-01T00:00:00.123456789Z\"", 1_767_225_600_123), ("1.7672256e12", 1_767_225_600_000),
            (#""2026\u002d01-01T00:00:00Z""#, 1_767_225_600_000),
        ])
    func timestamps(json: String, millis: Int64) throws {
        let run = parse("{\"user\":\"a\",\"ts\":\(json)}", Self.orders, bounds: Self.unbounded)
        let event = try #require(run.emitted.first)
        #expect(event.eventTime == millis)
        #expect(event.values[0] == .timestamp(millis))
    }

    @Test(
        "escaped strings decode through RecordCodec",
        arguments: [
            (#""a\"b\\c\/d""#, "a\"b\\c/d"),
            (#""\b\f\n\r\t""#, "\u{8}\u{C}\n\r\t"),
            (#""\u00e9\u00E9\u4e2d""#, "éé中"),
            (#""\ud83d\ude00!""#, "😀!"),
            (#""\uD834\uDD1E""#, "𝄞"),
            (#""\u0000x""#, "\u{0}x"),
            (#""plain é 😀 中""#, "plain é 😀 中"),
            (#""mixed é\u00e9""#, "mixed éé"),
            (#""""#, ""),
        ])
    func escapes(json: String, text: String) throws {
        let run = parse("{\"user\":\(json),\"note\":\(json)}", Self.orders)
        let event = try #require(run.emitted.first)
        #expect(event.values[1] == .string(text))
        #expect(event.values[5] == .string(text))
        #expect(event.key == Array(text.utf8), "the key is the unescaped bytes")
    }

    @Test("key bytes: string and int key fields, absent key")
    func keys() throws {
        let byString = parse(#"[{"user":"ann"},{"user":"b\u00f6b"}]"#, Self.orders)
        #expect(byString.emitted.map(\.key) == [Array("ann".utf8), Array("böb".utf8)])

        var byInt = Self.orders
        byInt.keyField = "count"
        let ints = parse(
            #"[{"user":"a","count":42},{"user":"b","count":-9223372036854775808},{"user":"c","count":0},{"user":"d"},{"user":"e","count":null}]"#,
            byInt)
        #expect(ints.emitted.map(\.key) == [Array("42".utf8), Array("-9223372036854775808".utf8), Array("0".utf8), nil, nil])

        var noKey = Self.orders
        noKey.keyField = nil
        #expect(parse(#"{"user":"a"}"#, noKey).emitted.map(\.key) == [nil])
    }

    @Test("more events than maxEvents", arguments: [BodyFormat.json, .ndjson])
    func exceededLimit(format: BodyFormat) {
        let events = (0..<5).map { "{\"user\":\"u\($0)\"}" }
        let body = format == .json ? "[" + events.joined(separator: ",") + "]" : events.joined(separator: "\n")
        let over = parse(body, Self.orders, format: format, maxEvents: 3)
        #expect(over.summary.exceededLimit)
        #expect(over.summary.events == 3)
        #expect(over.emitted.count <= 3)
        let exact = parse(body, Self.orders, format: format, maxEvents: 5)
        #expect(!exact.summary.exceededLimit)
        #expect(exact.summary.events == 5)
        #expect(exact.emitted.map(\.index) == [0, 1, 2, 3, 4])
    }

    @Test("once an event is invalid no later event reaches the sink", arguments: [BodyFormat.json, .ndjson])
    func noSinkAfterInvalid(format: BodyFormat) {
        let events = [#"{"user":"a"}"#, #"{"user":"b"}"#, #"{"count":1}"#, #"{"user":"c"}"#, #"{"user":"d","count":"x"}"#, #"{"user":"e"}"#]
        let body = format == .json ? "[" + events.joined(separator: ",") + "]" : events.joined(separator: "\n")
        let run = parse(body, Self.orders, format: format)
        #expect(run.summary.events == 6)
        #expect(run.summary.invalidEvents == 2)
        #expect(run.codes == [.missingField, .typeMismatch])
        #expect(run.issueIndexes == [2, 4])
        #expect(run.emitted.map(\.index) == [0, 1])
        // an invalid first event: no sink call at all
        let first = parse(
            format == .json ? "[" + events.reversed().joined(separator: ",") + "]" : events.reversed().joined(separator: "\n"), Self.orders,
            format: format)
        #expect(first.emitted.map(\.index) == [0])
        let invalidFirst = events[2] + (format == .json ? "" : "\n" + events[0])
        let none = parse(format == .json ? "[" + invalidFirst + "," + events[0] + "]" : invalidFirst, Self.orders, format: format)
        #expect(none.emitted.isEmpty)
        #expect(none.summary.invalidEvents == 1)
    }

    @Test("issues stop at maxIssues but invalid events are all counted")
    func issueCap() {
        let body = "[" + Array(repeating: #"{"count":"x"}"#, count: 80).joined(separator: ",") + "]"
        let run = parse(body, Self.orders)
        #expect(run.summary.events == 80)
        #expect(run.summary.invalidEvents == 80)
        #expect(run.summary.issues.count == EventParser.maxIssues)
    }

    @Test("an event with a schema problem and trailing garbage on its line counts as one invalid event")
    func oneInvalidEventCountedOnce() {
        let ndjson = parse("{\"user\":\"a\",\"count\":\"x\"} trailing\n{\"user\":\"b\"}", Self.orders, format: .ndjson)
        #expect(ndjson.summary.events == 2)
        #expect(ndjson.codes == [.typeMismatch, .invalidJSON])
        #expect(ndjson.summary.invalidEvents == 1)
        let json = parse("{\"user\":\"a\",\"count\":\"x\"} trailing", Self.orders)
        #expect(json.summary.events == 1)
        #expect(json.summary.invalidEvents == 1)
    }

    // MARK: Brute force

    struct Generated {
        var json: String
        var values: [FieldValue?]
        var eventTime: Int64
        var key: [UInt8]
    }

    /// Random valid events for `orders` (drop policy), with the values a decoder must find.
    static func generate(count: Int, seed: UInt64) -> [Generated] {
        var random = SplitMix64(seed: seed)
        let texts = [
            "", "a", "hello world", "quote \" and \\ backslash", "tab\tnew\nline\r", "é", "中文", "😀 emoji 𝄞",
            "\u{0}\u{1F}", "slash / here", "mixed é 😀 \" \\ \u{7}", String(repeating: "long ", count: 40),
        ]
        let doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 2.5e-8, 1e21, -3.75, 123456.789, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 4.9406564584124654e-300,
        ]
        let ints: [Int64] = [0, 1, -1, 42, Int64.max, Int64.min, 1 << 53, -(1 << 53) - 1, 999_999_999_999]
        return (0..<count).map { _ in
            var members: [(String, String)] = []
            var values = [FieldValue?](repeating: nil, count: 6)
            func choose<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
            func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
            func string(_ text: String) -> String {
                switch random.next() % 3 {
                case 0: jsonString(text)
                case 1: jsonString(text, escapeNonASCII: true)
                default: jsonString(text, escapeAll: true)
                }
            }
            // ts
            var eventTime = ingestTime
            if chance(70) {
                // Any time in the supported range (years 0001 to 9999).
                let span = UInt64(Timestamp.supportedRange.upperBound - Timestamp.supportedRange.lowerBound + 1)
                let millis = Int64(bitPattern: random.next() % span) + Timestamp.supportedRange.lowerBound
                let text = chance(50) ? String(millis) : "\"" + Timestamp.format(millis) + "\""
                members.append(("ts", text))
                values[0] = .timestamp(millis)
                eventTime = millis
            } else if chance(30) {
                members.append(("ts", "null"))
            }
            let user = choose(texts) + String(random.next() % 1000)
            members.append(("user", string(user)))
            values[1] = .string(user)
            if chance(60) {
                let number = choose(doubles)
                members.append(("amount", "\(number)"))
                values[2] = .double(number)
            } else if chance(20) {
                members.append(("amount", "null"))
            }
            if chance(60) {
                let number = chance(50) ? choose(ints) : Int64(bitPattern: random.next())
                members.append(("count", String(number)))
                values[3] = .int(number)
            }
            if chance(60) {
                let flag = chance(50)
                members.append(("paid", flag ? "true" : "false"))
                values[4] = .bool(flag)
            } else if chance(20) {
                members.append(("paid", "null"))
            }
            if chance(60) {
                let text = choose(texts)
                members.append(("note", string(text)))
                values[5] = .string(text)
            }
            if chance(30) {
                members.append(("unknown_\(random.next() % 5)", choose(["1", "\"x\"", "[1,[2,{\"a\":null}]]", "{}", "null", "-0.5e-3"])))
            }
            // shuffle, unique keys only
            var seen = Set<String>()
            members = members.filter { seen.insert($0.0).inserted }
            for i in stride(from: members.count - 1, to: 0, by: -1) { members.swapAt(i, Int(random.next() % UInt64(i + 1))) }
            let space = choose(["", " ", "\t", "  "])
            let json = "{" + space + members.map { "\"\($0.0)\"\(space):\(space)\($0.1)" }.joined(separator: "," + space) + space + "}"
            return Generated(json: json, values: values, eventTime: eventTime, key: Array(user.utf8))
        }
    }

    @Test("random valid events decode to exactly what was generated", arguments: [BodyFormat.json, .ndjson])
    func bruteForce(format: BodyFormat) {
        let generated = Self.generate(count: 400, seed: format == .json ? 1 : 2)
        let body: String
        var indexes: [Int] = []
        switch format {
        case .json:
            body = "[" + generated.map(\.json).joined(separator: ",\n") + "]"
            indexes = Array(generated.indices)
        case .ndjson:
            var lines: [String] = []
            for (i, event) in generated.enumerated() {
                if i % 7 == 3 { lines.append("") }
                if i % 11 == 5 { lines.append("   ") }
                indexes.append(lines.count)
                lines.append(event.json)
            }
            body = lines.joined(separator: "\n") + "\n"
        }
        let run = parse(body, Self.dropping, format: format, bounds: Self.unbounded)
        #expect(run.summary.issues.isEmpty, "\(run.summary.issues.prefix(3))")
        #expect(run.summary.events == generated.count)
        #expect(run.emitted.count == generated.count)
        for (emitted, (index, expected)) in zip(run.emitted, zip(indexes, generated)) {
            #expect(emitted.index == index)
            #expect(emitted.eventTime == expected.eventTime, "\(expected.json)")
            #expect(emitted.key == expected.key, "\(expected.json)")
            #expect(emitted.values.count == expected.values.count)
            for (a, b) in zip(emitted.values, expected.values) { #expect(sameBits(a, b), "\(expected.json)") }
        }
        // each event alone as a single-object body gives the same result
        for (event, expected) in zip(generated.prefix(50), run.emitted) {
            let single = parse(event.json, Self.dropping, bounds: Self.unbounded)
            #expect(single.emitted.map(\.values) == [expected.values])
            #expect(single.emitted.map(\.key) == [expected.key])
        }
    }
}
