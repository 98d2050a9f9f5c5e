import ArgumentParser
import Foundation
import NIOHTTP1

/// `tandem topics`: partitions, end offsets and sizes of every stream's log.
struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show each stream's partitions, offsets and sizes.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Only this stream.") var stream: String?

    func run() async throws {
        let client = APIClient(base: options.server)
        var names: [String] = []
        if let stream {
            names = [stream]
        } else {
            let body = try await client.json(.GET, "/v1/streams") as? [String: Any]
            names = (body?["streams"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        }
        print("STREAM".padding(toLength: 24, withPad: " ", startingAt: 0) + "PARTITION  START_OFFSET  END_OFFSET  SEGMENTS  BYTES")
        for name in names {
            let body = try await client.json(.GET, "/v1/streams/\(name)/partitions") as? [String: Any]
            for partition in body?["partitions"] as? [[String: Any]] ?? [] {
                func column(_ key: String, _ width: Int) -> String {
                    "\(partition[key] ?? "?")".padding(toLength: width, withPad: " ", startingAt: 0)
                }
                print(
                    name.padding(toLength: 24, withPad: " ", startingAt: 0) + column("partition", 11) + column("start_offset", 14)
                        + column("end_offset", 12) + column("segments", 10) + "\(partition["size_bytes"] ?? "?")")
            }
        }
    }
}
