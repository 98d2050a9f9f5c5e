import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import TandemAPI

/// `tandem tokens`: make, list and revoke bearer tokens (an admin token is needed).
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make, list and revoke the server's bearer tokens.", subcommands: [Create.self, List.self, Revoke.self],
        defaultSubcommand: List.self)

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a token; its secret is printed once.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The token's name.") var name: String
        @Option(help: "ingest, query or admin.") var scope: String
        @Option(help: "For an ingest token: a stream it may post to (repeat for more; default every stream).") var stream: [String] = []
        @Option(help: "The most requests a second (default no limit).") var requestsPerSecond: Double?
        @Option(help: "The most events a second it may post (default no limit).") var eventsPerSecond: Double?

        func run() async throws {
            var request: [String: Any] = ["name": name, "scope": scope]
            if !stream.isEmpty { request["streams"] = stream }
            if let requestsPerSecond { request["requests_per_second"] = requestsPerSecond }
            if let eventsPerSecond { request["events_per_second"] = eventsPerSecond }
            let created = try await options.client().decode(
                TokenResponse.self, .POST, "/v1/tokens", body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request)))
            print(created.token ?? "")
            FileHandle.standardError.write(Data("token \"\(created.name)\" (scope \(created.scope)) made; this is the only time it is shown\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (never their secrets).")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let tokens = try await options.client().decode(TokensResponse.self, .GET, "/v1/tokens").tokens
            print("NAME".padding(toLength: 24, withPad: " ", startingAt: 0) + "SCOPE    STREAMS                 CREATED")
            for token in tokens {
                print(
                    token.name.padding(toLength: 24, withPad: " ", startingAt: 0) + token.scope.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + (token.streams?.joined(separator: ",") ?? "*").padding(toLength: 24, withPad: " ", startingAt: 0) + token.createdAt)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token; it is refused from the next request on.")
        @OptionGroup var options: ServerOptions
        @Argument(help: "The token's name.") var name: String

        func run() async throws {
            _ = try await options.client().expectOK(.DELETE, "/v1/tokens/\(name)")
            print("revoked \(name)")
        }
    }
}
