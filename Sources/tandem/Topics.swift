import ArgumentParser
import Events
import Foundation
import NIOHTTP1
import TandemAPI

/// `tandem topics`: partitions, end offsets and sizes of every stream's log.
struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show each stream's partitions, offsets and sizes.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Only this stream.") var stream: String?

    func run() async throws {
        let client = try options.client()
        var names: [String] = []
        if let stream {
            names = [stream]
        } else {
            names = try await client.decode(StreamsResponse.self, .GET, "/v1/streams").streams.map(\.name)
        }
        print("STREAM".padding(toLength: 24, withPad: " ", startingAt: 0) + "PARTITION  START_OFFSET  END_OFFSET  SEGMENTS  BYTES")
        for name in names {
            for partition in try await client.decode(PartitionsResponse.self, .GET, "/v1/streams/\(name)/partitions").partitions {
                func column(_ value: some CustomStringConvertible, _ width: Int) -> String {
                    value.description.padding(toLength: width, withPad: " ", startingAt: 0)
                }
                print(
                    name.padding(toLength: 24, withPad: " ", startingAt: 0) + column(partition.partition, 11) + column(partition.startOffset, 14)
                        + column(partition.endOffset, 12) + column(partition.segments, 10) + "\(partition.sizeBytes)")
            }
        }
    }
}
