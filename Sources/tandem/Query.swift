import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

/// `tandem query VIEW --from T --to T ...`: runs a query and prints JSON rows or CSV.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query a view (POST /v1/query).",
        discussion: """
            Example: tandem query url_hourly --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z \\
                       --granularity 1h --group-by url --aggregates views,users --order-by views --limit 10
            Or give the whole request as JSON with --file (- for standard input).
            """)
    @OptionGroup var options: ServerOptions
    @Argument(help: "The view.") var view: String?
    @Option(help: "Start of the range (RFC 3339).") var from: String?
    @Option(help: "End of the range, exclusive (RFC 3339). Default: now.") var to: String?
    @Option(help: "A multiple of the view's bucket, or all.") var granularity: String?
    @Option(help: "Dimensions to group by, comma-separated.") var groupBy: String?
    @Option(help: "Aggregates to return, comma-separated (default: all).") var aggregates: String?
    @Option(help: "A filter on dimensions, as JSON ({\"field\": ..., \"op\": ..., \"value\": ...}).") var filter: String?
    @Option(help: "Order rows by this aggregate, largest first (top-N with --limit).") var orderBy: String?
    @Flag(help: "With --order-by: smallest first.") var ascending = false
    @Option(help: "The most rows.") var limit: Int?
    @Option(help: "Hopping window size (e.g. 1h); with --advance.") var hop: String?
    @Option(help: "Hopping window advance (e.g. 15m).") var advance: String?
    @Option(help: "Session window gap (e.g. 30m); with --session-key.") var sessionGap: String?
    @Option(help: "Session window key (a dimension).") var sessionKey: String?
    @Flag(help: "Print CSV instead of JSON.") var csv = false
    @Option(help: "The whole request as a JSON file ('-' for standard input).") var file: String?

    func run() async throws {
        let body: Data
        if let file {
            body = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
        } else {
            guard let view, let from else { throw ValidationError("give a view and --from (or --file)") }
            var request: [String: Any] = ["view": view, "from": from, "to": to ?? ISO8601DateFormatter().string(from: Date())]
            if let granularity { request["granularity"] = granularity }
            if let groupBy { request["group_by"] = groupBy.split(separator: ",").map(String.init) }
            if let aggregates { request["aggregates"] = aggregates.split(separator: ",").map(String.init) }
            if let filter { request["filter"] = try JSONSerialization.jsonObject(with: Data(filter.utf8)) }
            if let orderBy { request["order_by"] = ["aggregate": orderBy, "desc": !ascending] }
            if let limit { request["limit"] = limit }
            if let hop { request["window"] = ["type": "hopping", "size": hop, "advance": advance ?? hop] }
            if let sessionGap, let sessionKey { request["window"] = ["type": "session", "gap": sessionGap, "key": sessionKey] }
            body = try JSONSerialization.data(withJSONObject: request)
        }
        let client = try options.client()
        let (status, reply) = try await client.send(.POST, "/v1/query", body: ByteBuffer(bytes: body), accept: csv ? "text/csv" : "application/json")
        guard status == 200 else {
            printError("HTTP \(status): \(String(buffer: reply))")
            throw ExitCode(1)
        }
        if csv {
            print(String(buffer: reply), terminator: "")
            return
        }
        let answer = try APIClient.decode(QueryResponse.self, from: reply)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for row in answer.rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
        printError("provenance: " + String(decoding: try encoder.encode(answer.provenance), as: UTF8.self))
    }
}
