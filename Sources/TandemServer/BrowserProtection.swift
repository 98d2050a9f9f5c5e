import HTTPAPI
import HTTPTypes
import Hummingbird

/// What a browser may do with the server (`server.allowed_hosts`, `server.cors`).
public struct BrowserSettings: Sendable, Equatable {
    /// The names the `Host` header may carry (without a port), compared without case; `*` allows
    /// any. `nil`: the loopback names, and `server.host` when it is a specific address.
    public var allowedHosts: [String]?
    /// The origins (`scheme://host[:port]`) whose pages may post events (`*`: any); empty turns
    /// CORS off.
    public var allowedOrigins: [String] = []

    /// Creates the defaults: loopback hosts, no CORS.
    public init() {}

    /// The hosts allowed for a server listening on `host`.
    func hosts(listeningOn host: String) -> Set<String> {
        if let allowedHosts { return Set(allowedHosts.map { $0.lowercased() }) }
        var hosts: Set<String> = ["localhost", "127.0.0.1", "::1"]
        if !["0.0.0.0", "::", ""].contains(host) { hosts.insert(host.lowercased()) }
        return hosts
    }
}

/// Protections against pages in a user's browser:
/// - the `Host` header must name one of the allowed hosts, so that a DNS-rebinding page that
///   resolves its own name to the server's address gets 421 `host_not_allowed` (a request
///   without a `Host` header, which browsers always send, passes);
/// - CORS, off by default: with `server.cors.allowed_origins`, pages of those origins may post
///   events (the preflight is answered here, and the answers carry
///   `Access-Control-Allow-Origin`); every other route stays closed to them.
struct BrowserProtectionMiddleware<Context: RequestContext>: RouterMiddleware {
    let hosts: Set<String>
    let origins: Set<String>

    init(settings: BrowserSettings, listeningOn host: String) {
        hosts = settings.hosts(listeningOn: host)
        origins = Set(settings.allowedOrigins)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let host = request.head.authority, !hosts.contains("*") {
            let name = Self.hostName(host)
            guard hosts.contains(name) else {
                throw APIError(
                    .misdirectedRequest, code: "host_not_allowed",
                    "the Host header names \"\(name)\", which this server does not answer for; add it to server.allowed_hosts")
            }
        }
        guard let origin = request.headers[.origin], Self.takesEvents(request.uri.path), origins.contains(origin) || origins.contains("*")
        else { return try await next(request, context) }
        if request.method == .options {
            // A preflight: what the page may send.
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .vary: "Origin", .accessControlAllowMethods: "POST",
                    .accessControlAllowHeaders: "Content-Type, Content-Encoding, Authorization", .accessControlMaxAge: "600",
                ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }

    /// Whether `path` is a stream's events route, the only one open to other origins.
    static func takesEvents(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 5 && parts[1] == "v1" && parts[2] == "streams" && parts[4] == "events"
    }

    /// The host of a `Host` value, without its port, in lower case (`[::1]:8080` → `::1`).
    static func hostName(_ value: String) -> String {
        var host = Substring(value)
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
            host = host[host.index(after: host.startIndex)..<end]
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            host = host[..<colon]
        }
        return host.lowercased()
    }
}
