import Events
import Foundation
import Testing

/// The splitters of `tandem post`: whatever the chunk boundaries, the same events on the same
/// lines, and clear errors with line numbers.
@Suite("Event splitters")
struct EventSplitterTests {
    /// Feeds `input` in chunks of `size` bytes; returns the events (as text) and their lines.
    static func split(_ input: String, _ splitter: some EventSplitter, chunk size: Int) throws -> [(String, Int)] {
        var splitter = splitter
        var events: [(String, Int)] = []
        let bytes = Array(input.utf8)
        let emit: (UnsafeRawBufferPointer, Int) throws -> Void = { event, line in events.append((String(decoding: event, as: UTF8.self), line)) }
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            try bytes[start..<end].withUnsafeBytes { try splitter.feed($0, emit: emit) }
            start = end
        }
        try splitter.finish(emit: emit)
        return events
    }

    static let chunkSizes = [1, 2, 3, 5, 7, 64, 1 << 20]

    static func expectSame(_ input: String, _ splitter: some EventSplitter, _ expected: [(String, Int)]) throws {
        for size in chunkSizes {
            let events = try split(input, splitter, chunk: size)
            #expect(events.map(\.0) == expected.map(\.0), "chunks of \(size)")
            #expect(events.map(\.1) == expected.map(\.1), "lines, chunks of \(size)")
        }
    }

    @Test("NDJSON splits at line ends, skips blank lines and keeps the last line without a newline")
    func ndjson() throws {
        let input = "{\"a\":1}\n\n  \n{\"b\":\"x,y\"}\r\n{\"c\":[1,\n{\"d\":2}"
        try Self.expectSame(
            input, NDJSONSplitter(), [("{\"a\":1}", 1), ("{\"b\":\"x,y\"}\r", 4), ("{\"c\":[1,", 5), ("{\"d\":2}", 6)])
        #expect(try Self.split("", NDJSONSplitter(), chunk: 4).isEmpty)
    }

    @Test("a JSON array streams its elements, whatever they nest or quote, each on one line")
    func jsonArray() throws {
        // Raw line ends between tokens become spaces; the literal's indentation is stripped.
        let input = """
             [ {"a": "x, ] } \\" \\\\", "b": [1, {"c": []}]},
            {"d":
              2}, 7 ,"s"
            , {"e": "[{"} ]\t

            """
        try Self.expectSame(
            input, JSONArraySplitter(),
            [(#"{"a": "x, ] } \" \\", "b": [1, {"c": []}]}"#, 1), (#"{"d":   2}"#, 2), ("7 ", 3), (#""s" "#, 3), (#"{"e": "[{"} "#, 4)])
        try Self.expectSame("[]", JSONArraySplitter(), [])
        for (bad, line, message) in [
            ("{\"a\":1}", 1, "must start with ["), ("[{\"a\":1},\n{\"b\":", 2, "not closed"), ("[1]\n x", 2, "after the closing ]"),
            ("  \n ", 2, "empty"),
        ] {
            do {
                _ = try Self.split(bad, JSONArraySplitter(), chunk: 3)
                Issue.record("accepted \(bad)")
            } catch let error as InputError {
                #expect(error.line == line, "\(bad)")
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }

    static let stream = StreamDefinition(
        name: "orders", partitions: 1,
        fields: [
            FieldDefinition(name: "ts", type: .timestamp, required: true), FieldDefinition(name: "id", type: .int),
            FieldDefinition(name: "price", type: .double), FieldDefinition(name: "paid", type: .bool), FieldDefinition(name: "note", type: .string),
        ], timeField: "ts")

    @Test("CSV records become JSON objects typed by the schema, with RFC 4180 quoting")
    func csv() throws {
        let input =
            "\u{FEFF}ts,id,price,paid,note,extra\r\n"
            + "2026-11-20T00:00:00Z,1,9.5,true,\"hello, \"\"world\"\"\",x\r\n"
            + "1763596800000,-2,1e3,false,\"two\nlines\",\r\n"
            + "\r\n"
            + ",007,abc,yes,,\n"
            + "1,2,3,true,plain,\"\""
        let events = try Self.split(input, CSVSplitter(stream: Self.stream), chunk: 1 << 20)
        #expect(events.map(\.1) == [2, 3, 6, 7])
        for size in Self.chunkSizes {
            let again = try Self.split(input, CSVSplitter(stream: Self.stream), chunk: size)
            #expect(again.map(\.0) == events.map(\.0), "chunks of \(size)")
            #expect(again.map(\.1) == events.map(\.1), "lines, chunks of \(size)")
        }
        let objects = try events.map { try #require(try JSONSerialization.jsonObject(with: Data($0.0.utf8)) as? [String: Any]) }
        #expect(objects[0]["ts"] as? String == "2026-11-20T00:00:00Z")
        #expect(objects[0]["id"] as? Int == 1)
        #expect(objects[0]["price"] as? Double == 9.5)
        #expect(objects[0]["paid"] as? Bool == true)
        #expect(objects[0]["note"] as? String == #"hello, "world""#)
        #expect(objects[0]["extra"] as? String == "x")
        #expect(objects[1]["ts"] as? Int == 1_763_596_800_000)
        #expect(objects[1]["id"] as? Int == -2)
        #expect(objects[1]["price"] as? Double == 1000)
        #expect(objects[1]["note"] as? String == "two\nlines")
        #expect(objects[1]["extra"] == nil, "an empty cell is an absent field")
        // Values that are not of the field's type stay strings, so that the server names the field.
        #expect(objects[2]["id"] as? String == "007")
        #expect(objects[2]["price"] as? String == "abc")
        #expect(objects[2]["paid"] as? String == "yes")
        #expect(objects[2]["ts"] == nil)
        #expect(objects[3]["ts"] as? Int == 1)
        #expect(objects[3].count == 5)
    }

    @Test("bad CSV is refused with the line it starts on")
    func badCSV() throws {
        for (bad, line, message) in [
            ("ts,id\n1,2,3\n", 2, "has 3 cells; the header has 2"), ("ts,id\n1,\"2\nx", 2, "inside a quoted"), ("ts,id\n1,a\"b\n", 2, "quote inside"),
            ("ts,id\n1,\"a\"b\n", 2, "after the closing quote"), ("ts,ts\n", 1, "twice"), ("", 1, "no header"),
        ] {
            do {
                _ = try Self.split(bad, CSVSplitter(stream: Self.stream), chunk: 2)
                Issue.record("accepted \(bad)")
            } catch let error as InputError {
                #expect(error.line == line, "\(bad)")
                #expect(error.message.contains(message), "\(error)")
            }
        }
    }

    @Test(
        "JSON numbers are recognised exactly",
        arguments: [
            ("0", true), ("-0", true), ("12", true), ("1.5", true), ("1e9", true), ("-2.5E-3", true), ("007", false), ("1.", false), (".5", false),
            ("1e", false), ("+1", false), ("0x10", false), ("", false), ("NaN", false),
        ])
    func numbers(text: String, isNumber: Bool) {
        #expect(CSVSplitter.isNumber(Array(text.utf8)) == isNumber)
    }
}
