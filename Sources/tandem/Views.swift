import Aggregation
import ArgumentParser
import Events
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

/// `tandem views`: list, show, create and delete views.
struct Views: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, create or delete views.", subcommands: [List.self, Show.self, Create.self, Delete.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List views with the speed layer's progress.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let body = try await try options.client().decode(ViewsResponse.self, .GET, "/v1/views")
            print(
                "NAME".padding(toLength: 24, withPad: " ", startingAt: 0) + "STREAM".padding(toLength: 20, withPad: " ", startingAt: 0)
                    + "BUCKET  CAUGHT_UP  CONSUMED  ROWS")
            for entry in body.views {
                let view = entry.view, status = entry.status
                print(
                    view.name.padding(toLength: 24, withPad: " ", startingAt: 0) + view.stream.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + DurationText.format(milliseconds: view.bucketMilliseconds).padding(toLength: 8, withPad: " ", startingAt: 0)
                        + (status.map { "\($0.caughtUp)" } ?? entry.failure.map { _ in "failed" } ?? "?").padding(
                            toLength: 11, withPad: " ", startingAt: 0)
                        + (status.map { "\($0.consumed)" } ?? "?").padding(toLength: 10, withPad: " ", startingAt: 0)
                        + (status.map { "\($0.stateRows)" } ?? "?"))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a view's definition and status as JSON.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The view.") var name: String

        func run() async throws {
            print(String(buffer: try await try options.client().expectOK(.GET, "/v1/views/\(name)")))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a view from a JSON definition (the shape of POST /v1/views).")
        @OptionGroup var options: ServerOptions
        @Argument(help: "A JSON file with the definition ('-' for standard input).") var file: String

        func run() async throws {
            let body = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            print(String(buffer: try await try options.client().expectOK(.POST, "/v1/views", body: ByteBuffer(bytes: body))))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a view and its state.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The view.") var name: String

        func run() async throws {
            _ = try await try options.client().expectOK(.DELETE, "/v1/views/\(name)")
            print("deleted \(name)")
        }
    }
}
