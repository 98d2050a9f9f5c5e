import ArgumentParser
import Foundation

/// The `tandem` command line: run the server, or talk to a running one.
@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem: a Lambda-architecture analytics service.",
        subcommands: [
            Serve.self, Post.self, Query.self, Recompute.self, Jobs.self, Streams.self, Views.self, Topics.self, Consume.self, LogCommand.self,
            Tokens.self, Status.self, Bench.self,
        ],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by the verbs that talk to a running server.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "The server's base URL.")
    var server: String = "http://127.0.0.1:8080"
    @Option(name: .long, help: "PEM certificates to trust for an https:// server (for example its own self-signed one).")
    var cacert: String?
    @Option(
        name: .long,
        help:
            "The bearer token (also TANDEM_TOKEN). Default: the admin token of a server on this host, in DATA_DIR/admin.token (TANDEM_DATA_DIR, else ./data)."
    )
    var token: String?

    /// A client for the server.
    func client() throws -> APIClient {
        var client = try cacert.map { try APIClient(base: server, trusting: $0) } ?? APIClient(base: server)
        client.token = Self.token(given: token)
        return client
    }

    /// The token to send: `--token`, else `TANDEM_TOKEN`, else the admin token file of a server
    /// on this host, if this user can read it.
    static func token(given: String?) -> String? {
        if let given { return given }
        let environment = ProcessInfo.processInfo.environment
        if let token = environment["TANDEM_TOKEN"], !token.isEmpty { return token }
        let path = (environment["TANDEM_DATA_DIR"] ?? "data") + "/admin.token"
        return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
