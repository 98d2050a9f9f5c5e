import Foundation
import TandemAPI
import TandemTestSupport
import Testing

/// Tokens with scopes on a real server with auth on (the default): the admin token of the first
/// start, 401 and 403, tokens made, listed and revoked with the command line, which finds the
/// admin token by itself.
@Suite("Access control of a real server")
struct AuthTests {
    /// Starts `tandem serve` with auth on (the default) and `config`; returns it and its data
    /// directory.
    static func start(in directory: TemporaryDirectory, config: String) async throws -> (ServerProcess, String) {
        try config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let data = directory.path + "/data"
        let server = try ServerProcess(
            arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", data, "--port", "0", "--no-batch"],
            outputPath: directory.path + "/server-1.log")
        try await server.waitUntilListening()
        return (server, data)
    }

    @Test func tokensWithScopesGuardEveryRoute() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-auth")
        defer { directory.remove() }
        let (server, data) = try await Self.start(in: directory, config: CrashTortureTests.config)
        defer { server.terminate() }
        let port = server.port

        // The first start made the admin token: printed once, and in a file only its owner reads.
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(admin.hasPrefix("tdm_"))
        #expect(server.output.contains(admin), "the token is printed at the first start")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: data + "/admin.token")[.posixPermissions] as? Int)
        #expect(mode == 0o600)

        func exchange(_ method: String, _ path: String, token: String? = nil, body: String = "") throws -> RawHTTPConnection.Answer {
            var headers: [(String, String)] = [("Content-Type", "application/json")]
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            return try RawHTTPConnection.exchange(port: port, method: method, path: path, headers: headers, body: Array(body.utf8))
        }
        let event = #"{"ts":1763596800000,"client":"a","seq":1}"#
        let query = #"{"view":"per_client","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#

        // Anonymous: only the health routes, and the dashboard's static files, which hold no
        // data (the page reads everything through routes that need a token).
        #expect(try exchange("GET", "/healthz").status == 200)
        #expect(try exchange("GET", "/readyz").status == 200)
        for path in ["/", "/dashboard/app.js", "/dashboard/app.css"] {
            let file = try exchange("GET", path)
            #expect(file.status == 200, "\(path)")
            #expect(!file.body.contains("orders"), "\(path) holds no data")
        }
        for (method, path, body) in [
            ("GET", "/v1/streams", ""), ("POST", "/v1/streams/orders/events", event), ("POST", "/v1/query", query), ("GET", "/v1/status", ""),
            ("GET", "/metrics", ""), ("GET", "/v1/tokens", ""), ("DELETE", "/v1/views/per_client", ""),
        ] {
            let answer = try exchange(method, path, body: body)
            #expect(answer.status == 401, "\(method) \(path)")
            #expect(try answer.decode(ErrorResponse.self).error.code == "unauthenticated")
        }
        for bad in [admin + "x", "tdm_nope_secret", String(admin.dropLast()), "Basic " + admin] {
            #expect(try exchange("GET", "/v1/streams", token: bad).status == 401, "\(bad)")
        }
        #expect(try exchange("GET", "/v1/streams", token: admin).status == 200)

        // The command line finds the admin token in the data directory by itself.
        let server_ = "http://127.0.0.1:\(port)"
        let env = ["TANDEM_DATA_DIR": data]
        let made = try await PostCommandTests.tandem(
            ["tokens", "create", "--name", "web", "--scope", "ingest", "--stream", "orders", "--server", server_], in: directory, environment: env)
        #expect(made.status == 0, "\(made.errors)")
        let web = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(web.hasPrefix("tdm_"))
        let reader = try await PostCommandTests.tandem(
            ["tokens", "create", "--name", "dash", "--scope", "query", "--server", server_], in: directory, environment: env)
        let dash = reader.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let listed = try await PostCommandTests.tandem(["tokens", "list", "--server", server_], in: directory, environment: env)
        #expect(listed.output.contains("web") && listed.output.contains("dash") && listed.output.contains("admin"))
        #expect(!listed.output.contains(web) && !listed.output.contains(admin), "secrets are never listed")
        // Without the file or a token, the command line is refused.
        let anonymous = try await PostCommandTests.tandem(
            ["topics", "--server", server_], in: directory, environment: ["TANDEM_DATA_DIR": "/nonexistent"])
        #expect(anonymous.status != 0)
        #expect(anonymous.errors.contains("unauthenticated"), "\(anonymous.errors)")

        // Scopes.
        #expect(try exchange("POST", "/v1/streams/orders/events", token: web, body: event).status == 200)
        let elsewhere = try exchange("POST", "/v1/streams/other/events", token: web, body: event)
        #expect(elsewhere.status == 403)
        #expect(try elsewhere.decode(ErrorResponse.self).error.code == "forbidden")
        #expect(try exchange("POST", "/v1/query", token: web, body: query).status == 403)
        #expect(try exchange("GET", "/v1/streams", token: web).status == 403)
        #expect(try exchange("POST", "/v1/query", token: dash, body: query).status == 200)
        #expect(try exchange("GET", "/v1/streams/orders/records?partition=0&offset=0", token: dash).status == 200)
        #expect(try exchange("GET", "/v1/views/per_client", token: dash).status == 200)
        #expect(try exchange("POST", "/v1/streams/orders/events", token: dash, body: event).status == 403)
        #expect(try exchange("DELETE", "/v1/views/per_client", token: dash).status == 403)
        #expect(try exchange("GET", "/v1/tokens", token: dash).status == 403)
        #expect(try exchange("POST", "/v1/tokens", token: web, body: #"{"name":"x","scope":"admin"}"#).status == 403)
        #expect(try exchange("POST", "/v1/streams/orders/events", token: admin, body: event).status == 200, "admin may do anything")

        // A revocation takes effect at once.
        let revoked = try await PostCommandTests.tandem(["tokens", "revoke", "web", "--server", server_], in: directory, environment: env)
        #expect(revoked.status == 0, "\(revoked.errors)")
        #expect(try exchange("POST", "/v1/streams/orders/events", token: web, body: event).status == 401)
        #expect(try exchange("POST", "/v1/query", token: dash, body: query).status == 200)

        // A restart keeps the tokens and makes no new admin token.
        server.terminate()
        let again = try ServerProcess(
            arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", data, "--port", "0", "--no-batch"],
            outputPath: directory.path + "/server-2.log")
        defer { again.terminate() }
        try await again.waitUntilListening()
        #expect(!again.output.contains("tdm_"))
        let answer = try RawHTTPConnection.exchange(
            port: again.port, method: "POST", path: "/v1/query",
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(dash)")],
            body: Array(query.utf8))
        #expect(answer.status == 200)
        #expect(try String(contentsOfFile: data + "/admin.token", encoding: .utf8).contains(admin))
    }

    @Test func tokensAreKeptHashedInPostgreSQL() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-auth-pg")
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try CrashTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let data = directory.path + "/data"
        func launch(_ run: Int) async throws -> ServerProcess {
            let server = try ServerProcess(
                arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", data, "--port", "0", "--postgres-url", database.url],
                outputPath: directory.path + "/server-\(run).log")
            try await server.waitUntilListening()
            return server
        }
        var server = try await launch(1)
        let env = ["TANDEM_DATA_DIR": data]
        let made = try await PostCommandTests.tandem(
            ["tokens", "create", "--name", "reader", "--scope", "query", "--server", "http://127.0.0.1:\(server.port)"], in: directory,
            environment: env)
        #expect(made.status == 0, "\(made.errors)")
        let reader = made.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = try database.scalar("SELECT string_agg(definition, ' ') FROM tandem_definitions WHERE kind = 'tokens'")
        let secret = try #require(reader.split(separator: "_").last)
        #expect(stored.contains("\"hash\"") && !stored.contains(String(secret)), "only the hash of the secret is stored")
        server.terminate()
        server = try await launch(2)
        defer { server.terminate() }
        let answer = try RawHTTPConnection.exchange(
            port: server.port, method: "GET", path: "/v1/streams", headers: [("Authorization", "Bearer \(reader)")])
        #expect(answer.status == 200, "the token survives a restart")
    }

    /// Every route against every scope: anonymous 401, the wrong scope 403, the right one
    /// served; no token's plaintext is in the catalog or the log; admin actions are audited.
    @Test func everyRouteAgainstEveryScope() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-auth-matrix")
        defer { directory.remove() }
        let database = try TestDatabase.create()
        try CrashTortureTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let data = directory.path + "/data"
        let server = try ServerProcess(
            arguments: ["--config", directory.path + "/tandem.yaml", "--data-dir", data, "--port", "0", "--postgres-url", database.url],
            outputPath: directory.path + "/server-1.log")
        defer { server.terminate() }
        try await server.waitUntilListening()
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func exchange(_ method: String, _ path: String, token: String?, body: String = "", headers: [(String, String)] = []) throws
            -> RawHTTPConnection.Answer
        {
            var all = headers + [("Content-Type", "application/json")]
            if let token { all.append(("Authorization", "Bearer \(token)")) }
            return try RawHTTPConnection.exchange(port: server.port, method: method, path: path, headers: all, body: Array(body.utf8))
        }
        var tokens: [String: String] = [:]
        for (name, scope) in [("ingest", #""scope":"ingest","streams":["orders"]"#), ("query", #""scope":"query""#)] {
            let made = try exchange("POST", "/v1/tokens", token: admin, body: #"{"name":"\#(name)",\#(scope)}"#)
            #expect(made.status == 201, "\(made.body)")
            tokens[name] = try #require(try made.decode(TokenResponse.self).token)
        }
        tokens["admin"] = admin
        let event = #"{"ts":1763596800000,"client":"m","seq":1}"#
        let view =
            #"{"name":"per_client","stream":"orders","dimensions":["client"],"bucket":"1m","aggregates":{"n":{"fn":"count"},"seq_sum":{"fn":"sum","field":"seq"}}}"#
        let stream = #"{"name":"orders2","partitions":1,"time_field":"ts","fields":{"ts":{"type":"timestamp","required":true}}}"#
        let query = #"{"view":"per_client","from":"2025-11-20T00:00:00Z","to":"2025-11-21T00:00:00Z","granularity":"all"}"#
        // (method, path, body, the scopes that may)
        let routes: [(String, String, String, Set<String>)] = [
            ("POST", "/v1/streams/orders/events", event, ["ingest", "admin"]),
            ("GET", "/v1/streams", "", ["query", "admin"]),
            ("GET", "/v1/streams/orders", "", ["query", "admin"]),
            ("GET", "/v1/streams/orders/partitions", "", ["query", "admin"]),
            ("GET", "/v1/streams/orders/records?partition=0&offset=0", "", ["query", "admin"]),
            ("GET", "/v1/views", "", ["query", "admin"]),
            ("GET", "/v1/views/per_client", "", ["query", "admin"]),
            ("POST", "/v1/query", query, ["query", "admin"]),
            ("GET", "/v1/status", "", ["query", "admin"]),
            ("GET", "/metrics", "", ["query", "admin"]),
            ("POST", "/v1/streams", stream, ["admin"]),
            ("POST", "/v1/views", view, ["admin"]),
            ("POST", "/v1/jobs", #"{"view":"per_client","mode":"full"}"#, ["admin"]),
            ("GET", "/v1/jobs", "", ["admin"]),
            ("GET", "/v1/tokens", "", ["admin"]),
            ("POST", "/v1/tokens", #"{"name":"extra","scope":"query"}"#, ["admin"]),
            ("DELETE", "/v1/tokens/extra", "", ["admin"]),
            ("DELETE", "/v1/views/per_client", "", ["admin"]),
        ]
        for (method, path, body, allowed) in routes {
            #expect(try exchange(method, path, token: nil, body: body).status == 401, "anonymous \(method) \(path)")
            for scope in ["ingest", "query", "admin"] {
                let answer = try exchange(method, path, token: tokens[scope], body: body)
                if allowed.contains(scope) {
                    #expect(
                        ![401, 403].contains(answer.status) && answer.status < 500, "\(scope) \(method) \(path): \(answer.status) \(answer.body)")
                } else {
                    #expect(answer.status == 403, "\(scope) \(method) \(path): \(answer.status)")
                }
            }
        }
        // Without a configured origin, a CORS preflight gets no permission.
        let preflight = try exchange(
            "OPTIONS", "/v1/streams/orders/events", token: nil, headers: [("Origin", "https://a.example"), ("Access-Control-Request-Method", "POST")])
        #expect(preflight.headers["access-control-allow-origin"] == nil)

        // No plaintext anywhere but the admin token's one printed line; hashes in the catalog.
        let catalog = try database.scalar("SELECT string_agg(definition, ' ') FROM tandem_definitions WHERE kind = 'tokens'")
        let output = server.output
        for (scope, token) in tokens {
            #expect(!catalog.contains(token) && !catalog.contains(String(token.split(separator: "_").last!)), "\(scope) in the catalog")
            let lines = output.split(separator: "\n").filter { $0.contains(token) }
            #expect(lines.count == (scope == "admin" ? 1 : 0), "\(scope) token in the log: \(lines.count) lines")
        }
        // Admin actions are audited with the token's name and a request id.
        let audits = output.split(separator: "\n").filter { $0.contains("audit") }
        #expect(audits.contains { $0.contains("token=admin") && $0.contains("path=/v1/views/per_client") && $0.contains("method=DELETE") })
        #expect(audits.contains { $0.contains("token=admin") && $0.contains("path=/v1/tokens") && $0.contains("status=201") })
        #expect(audits.allSatisfy { $0.contains("request_id=") })
    }

    @Test func rateLimitsRefuseWithRetryAfterAndAppendNothing() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-rate")
        defer { directory.remove() }
        let (server, data) = try await Self.start(in: directory, config: CrashTests.config)
        defer { server.terminate() }
        let env = ["TANDEM_DATA_DIR": data]
        let url = "http://127.0.0.1:\(server.port)"
        func make(_ name: String, _ limit: [String]) async throws -> String {
            let run = try await PostCommandTests.tandem(
                ["tokens", "create", "--name", name, "--scope", "ingest", "--server", url] + limit, in: directory, environment: env)
            #expect(run.status == 0, "\(run.errors)")
            return run.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let slow = try await make("slow", ["--requests-per-second", "2"])
        let few = try await make("few", ["--events-per-second", "10"])
        // The margins are seconds wide, so that a slow machine cannot refill a bucket in time.
        func post(_ token: String, events: Int) throws -> RawHTTPConnection.Answer {
            let body = (0..<events).map { #"{"ts":1763596800000,"client":"r","seq":\#($0)}"# }.joined(separator: "\n")
            return try RawHTTPConnection.exchange(
                port: server.port, method: "POST", path: "/v1/streams/orders/events",
                headers: [("Content-Type", "application/x-ndjson"), ("Authorization", "Bearer \(token)")], body: Array(body.utf8))
        }
        func stored() throws -> Int64 {
            let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let answer = try RawHTTPConnection.exchange(
                port: server.port, method: "GET", path: "/v1/streams/orders/partitions", headers: [("Authorization", "Bearer \(admin)")])
            return try answer.decode(PartitionsResponse.self).partitions.reduce(0) { $0 + $1.endOffset }
        }

        // Requests a second: a burst of 20 gets 2 through, and 2 more per second it lasts (it
        // would have to last 9 s for all to pass); the rest get 429 with the headers.
        var accepted = 0
        var refusals: [RawHTTPConnection.Answer] = []
        for _ in 0..<20 {
            let answer = try post(slow, events: 1)
            if answer.status == 200 { accepted += 1 } else { refusals.append(answer) }
        }
        #expect(accepted >= 2 && accepted < 20, "\(accepted) of 20 accepted")
        let refused = try #require(refusals.first)
        #expect(refused.status == 429)
        #expect(try refused.decode(ErrorResponse.self).error.code == "rate_limited")
        #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(refused.headers["ratelimit-limit"] == "2")
        #expect(refused.headers["ratelimit-remaining"] == "0")
        #expect(refused.headers["ratelimit-reset"] != nil)
        #expect(try stored() == Int64(accepted), "refused requests appended nothing")

        // Events a second: a batch of 30 passes on a full bucket and leaves it 20 in debt, so 8
        // more are refused for 2.8 s (and append nothing), then pass.
        #expect(try post(few, events: 30).status == 200)
        let over = try post(few, events: 8)
        #expect(over.status == 429, "\(over.body)")
        #expect(try stored() == Int64(accepted + 30))
        try await Task.sleep(for: .seconds(Int(over.headers["retry-after"] ?? "3") ?? 3))
        #expect(try post(few, events: 8).status == 200)
        #expect(try stored() == Int64(accepted + 38))
        // Other tokens are not slowed by these.
        let admin = try String(contentsOfFile: data + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        for _ in 0..<10 { #expect(try post(admin, events: 1).status == 200) }
    }

    @Test func authCanBeOffOnlyOnLoopbackAndSaysSo() async throws {
        let directory = try TemporaryDirectory(prefix: "tandem-noauth")
        defer { directory.remove() }
        try CrashTests.config.write(toFile: directory.path + "/tandem.yaml", atomically: true, encoding: .utf8)
        let open = try await ServerProcess.start(in: directory, run: 1)
        #expect(open.output.contains("AUTH IS OFF"))
        #expect(try RawHTTPConnection.exchange(port: open.port, method: "GET", path: "/v1/streams").status == 200)
        open.terminate()
        let wide = try ServerProcess(
            arguments: [
                "--config", directory.path + "/tandem.yaml", "--data-dir", directory.path + "/data", "--host", "0.0.0.0", "--port", "0", "--no-batch",
                "--no-auth",
            ],
            outputPath: directory.path + "/server-2.log")
        #expect(try await wide.waitForExit(timeout: .seconds(30)))
        #expect(wide.exitStatus != 0)
        #expect(wide.output.contains("only when the server listens on a loopback address"), "\(wide.output.suffix(1000))")
    }
}
