import ArgumentParser

/// The `tandem` command line: run the server, or talk to a running one.
@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Tandem: a Lambda-architecture analytics service.",
        subcommands: [
            Serve.self, Post.self, Query.self, Recompute.self, Jobs.self, Streams.self, Views.self, Topics.self, Consume.self, LogCommand.self,
            Bench.self,
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

    /// A client for the server.
    func client() throws -> APIClient {
        guard let cacert else { return APIClient(base: server) }
        return try APIClient(base: server, trusting: cacert)
    }
}
