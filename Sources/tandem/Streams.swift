import ArgumentParser
import Events
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

/// `tandem streams`: list, show and create streams.
struct Streams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show or create streams.", subcommands: [List.self, Show.self, Create.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List streams.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let body = try await try options.client().decode(StreamsResponse.self, .GET, "/v1/streams")
            print("NAME".padding(toLength: 24, withPad: " ", startingAt: 0) + "PARTITIONS  VERSION  FIELDS")
            for stream in body.streams {
                print(
                    stream.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                        + "\(stream.partitions)".padding(toLength: 12, withPad: " ", startingAt: 0)
                        + "\(stream.version)".padding(toLength: 9, withPad: " ", startingAt: 0) + stream.fields.map(\.name).joined(separator: ","))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a stream's definition as JSON.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The stream's name.") var name: String

        func run() async throws {
            let bytes = try await try options.client().expectOK(.GET, "/v1/streams/\(name)")
            print(String(buffer: bytes))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create (or add fields to) a stream.",
            discussion: """
                Either give a JSON definition with --file (the shape of POST /v1/streams), or build one:
                  tandem streams create pageviews --partitions 4 --time-field ts --key-field user_id \\
                    --field ts:timestamp:required --field url:string:required --field user_id:string
                """)
        @OptionGroup var options: ServerOptions
        @Argument(help: "The stream's name (ignored with --file).") var name: String?
        @Option(help: "A JSON file with the definition ('-' for standard input).") var file: String?
        @Option(help: "Partition count.") var partitions: Int = 1
        @Option(name: .customLong("field"), help: "NAME:TYPE[:required], repeatable. Types: string, int, double, bool, timestamp.")
        var fields: [String] = []
        @Option(help: "The event-time field (a timestamp field).") var timeField: String?
        @Option(help: "The partitioning key field.") var keyField: String?
        @Option(help: "The event id field.") var idField: String?
        @Flag(help: "Use the ingest time when the time field is absent.") var defaultIngestTime = false
        @Flag(help: "Drop undeclared fields instead of rejecting the event.") var dropUnknown = false

        func run() async throws {
            let body: Data
            if let file {
                body = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            } else {
                guard let name else { throw ValidationError("give a stream name or --file") }
                var definition: [String: Any] = ["name": name, "partitions": partitions]
                var fieldMap: [String: Any] = [:]
                for spec in fields {
                    let parts = spec.split(separator: ":").map(String.init)
                    guard parts.count == 2 || (parts.count == 3 && parts[2] == "required") else {
                        throw ValidationError("--field takes NAME:TYPE[:required], got \"\(spec)\"")
                    }
                    fieldMap[parts[0]] = ["type": parts[1], "required": parts.count == 3]
                }
                definition["fields"] = fieldMap
                if let timeField { definition["time_field"] = timeField }
                if let keyField { definition["key_field"] = keyField }
                if let idField { definition["id_field"] = idField }
                if defaultIngestTime { definition["default_time"] = "ingest" }
                if dropUnknown { definition["unknown_fields"] = "drop" }
                body = try JSONSerialization.data(withJSONObject: definition)
            }
            let bytes = try await try options.client().expectOK(.POST, "/v1/streams", body: ByteBuffer(bytes: body))
            print(String(buffer: bytes))
        }
    }
}
