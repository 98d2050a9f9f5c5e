import Catalog
import Events
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import Ingest
import Logging
import Synchronization
import TandemAPI

/// Bearer tokens with scopes: the catalog of tokens (PostgreSQL when the server has one, the data
/// directory otherwise), an index by public id for the hot path, the admin token made at the
/// first start, and the check every request goes through.
public final class AccessControl: Sendable {
    /// The tokens.
    let catalog: Catalog<AccessToken>
    /// Whether requests need a token (`auth.enabled`).
    public let enabled: Bool
    /// Paths served without a token: the health routes, the dashboard's static files (which
    /// hold no data: the page reads everything through routes that need a token), and
    /// `/metrics` when `metrics.public` says so.
    let anonymousPaths: Set<String>
    /// The tokens by public id, each with the bytes of its secret's hash.
    private let byID = Mutex<[String: (token: AccessToken, digest: [UInt8])]>([:])
    /// The tokens' rate limits.
    let limiter = RateLimiter()
    private let logger: Logger

    init(store: any DefinitionStore, enabled: Bool, anonymousPaths: Set<String> = [], logger: Logger) {
        self.catalog = Catalog<AccessToken>(store: store, logger: logger)
        self.enabled = enabled
        self.anonymousPaths = anonymousPaths.union(["/healthz", "/readyz"]).union(Dashboard.paths)
        self.logger = logger
    }

    /// Loads the tokens; with none and auth on, makes the admin token, writes it to
    /// `DATA/admin.token` (readable by its owner only) and returns it, to be shown once; `nil`
    /// when tokens exist, or another server sharing the database made it at the same moment.
    func load(dataDirectory: String) async throws -> String? {
        try await catalog.load()
        reindex()
        guard enabled, catalog.all.isEmpty else { return nil }
        let (record, token) = AccessToken.make(name: "admin", scope: .admin, streams: nil)
        let path = dataDirectory + "/admin.token"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw APIError(.internalServerError, code: "internal", "cannot write \(path)") }
        fchmod(descriptor, 0o600)
        let bytes = Array((token + "\n").utf8)
        let written = write(descriptor, bytes, bytes.count)
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count else { throw APIError(.internalServerError, code: "internal", "cannot write \(path)") }
        // Servers sharing a database and starting together: the first to store it makes it.
        guard try await catalog.defineIfAbsent(record) else {
            unlink(path)
            reindex()
            logger.notice("another server sharing the database made the admin token; it printed it once")
            return nil
        }
        reindex()
        logger.notice("made the admin token; it is shown once and kept in the data directory", metadata: ["file": "\(path)"])
        return token
    }

    /// Takes the tokens that other servers sharing the database made or revoked.
    func reload() async throws {
        let changes = try await catalog.reload()
        guard !changes.isEmpty else { return }
        reindex()
        logger.info(
            "tokens changed by another server", metadata: ["added": "\(changes.added.count)", "revoked": "\(changes.removed.count)"])
    }

    private func reindex() {
        let all = catalog.all
        byID.withLock { index in index = Dictionary(all.map { ($0.id, ($0, $0.digestBytes)) }, uniquingKeysWith: { first, _ in first }) }
    }

    /// Makes a token; returns its record and the token, which is never shown again.
    func create(
        name: String, scope: AccessToken.Scope, streams: [String]?, requestsPerSecond: Double? = nil, eventsPerSecond: Double? = nil
    ) async throws -> (AccessToken, String) {
        guard Names.isValid(name) else {
            throw APIError.badRequest("invalid_token", "a token name is 1 to 64 letters, digits, _ or -, got \"\(name)\"", field: "name")
        }
        if scope != .ingest, streams != nil {
            throw APIError.badRequest("invalid_token", "only an ingest token can be limited to streams", field: "streams")
        }
        for (field, rate) in [("requests_per_second", requestsPerSecond), ("events_per_second", eventsPerSecond)] {
            if let rate, !(rate > 0 && rate <= 1e9) {
                throw APIError.badRequest("invalid_token", "\(field) must be a positive number, got \(rate)", field: field)
            }
        }
        let (record, token) = AccessToken.make(
            name: name, scope: scope, streams: streams, requestsPerSecond: requestsPerSecond, eventsPerSecond: eventsPerSecond)
        try await catalog.define(record)
        reindex()
        return (record, token)
    }

    /// Revokes a token; from the next request on it is refused on every route.
    func revoke(_ name: String) async throws -> Bool {
        let record = catalog[name]
        let removed = try await catalog.remove(name)
        reindex()
        if let record { limiter.forget(record) }
        return removed
    }

    /// The token an `Authorization` header presents, if it is a valid one.
    func token(from header: String?) -> AccessToken? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        guard let (id, secret) = AccessToken.parts(of: header.dropFirst(7).drop(while: { $0 == " " })),
            let entry = byID.withLock({ $0[String(id)] }), AccessToken.matches(secret: secret, digest: entry.digest)
        else { return nil }
        return entry.token
    }
}

/// Every request but those of ``AccessControl/anonymousPaths`` (`/healthz`, `/readyz`, the
/// dashboard's static files, and `/metrics` if configured) needs a token whose scope allows it:
/// none, or one that is not valid, is 401 `unauthenticated`; one without the scope is 403
/// `forbidden`.
///
/// Every admin action (a `POST` or `DELETE` of streams, views, jobs or tokens) is an audit line
/// in the log with the token's name, the outcome and a request id, which the answer carries in
/// `Tandem-Request-Id`.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: AccessControl
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // Servers' requests to each other carry the cluster key instead, checked by the routes
        // (``InternalRoutes``), which exist only when partitions are divided.
        if path.hasPrefix("/internal/") { return try await next(request, context) }
        let need = AccessNeed.of(method: request.method.rawValue, path: path)
        guard access.enabled, !access.anonymousPaths.contains(path) else {
            return try await audited(request, need: need, token: access.enabled ? nil : "(auth off)") { try await next(request, context) }
        }
        guard let token = access.token(from: request.headers[.authorization]) else {
            throw APIError(
                .unauthorized, code: "unauthenticated",
                "this route needs a token: send Authorization: Bearer tdm_... (the admin token of a first start is in the data directory's admin.token)"
            )
        }
        guard token.allows(need) else {
            throw APIError(.forbidden, code: "forbidden", "token \"\(token.name)\" (scope \(token.scope.rawValue)) does not have \(need)")
        }
        try access.limiter.takeRequest(token)
        guard token.eventsPerSecond != nil else {
            return try await audited(request, need: need, token: token.name) { try await next(request, context) }
        }
        return try await IngestQuota.$current.withValue(TokenEventQuota(limiter: access.limiter, token: token)) {
            try await next(request, context)
        }
    }

    /// Runs `handle`, and for an admin action logs who did what and how it ended.
    private func audited(_ request: Request, need: AccessNeed, token: String?, _ handle: () async throws -> Response) async throws -> Response {
        guard need == .admin, request.method == .post || request.method == .delete, let token else { return try await handle() }
        let id = RequestIdentity.current ?? RequestIdentity.make()
        func log(_ status: HTTPResponse.Status) {
            logger.notice(
                "audit",
                metadata: [
                    "request_id": "\(id)", "token": "\(token)", "method": "\(request.method)", "path": "\(request.uri.path)",
                    "status": "\(status.code)",
                ])
        }
        do {
            var response = try await handle()
            log(response.status)
            response.headers[HTTPField.Name("Tandem-Request-Id")!] = id
            return response
        } catch let error as APIError {
            log(error.status)
            throw error
        } catch let error as any HTTPMappedError {
            log(error.httpStatus)
            throw error
        } catch {
            log(.internalServerError)
            throw error
        }
    }
}

/// `POST /v1/tokens`, `GET /v1/tokens`, `DELETE /v1/tokens/{name}` (admin scope).
struct TokenRoutes: Sendable {
    let access: AccessControl

    struct CreateRequest: Decodable {
        var name: String
        var scope: AccessToken.Scope
        var streams: [String]?
        var requestsPerSecond: Double?
        var eventsPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case name, scope, streams
            case requestsPerSecond = "requests_per_second"
            case eventsPerSecond = "events_per_second"
        }
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/tokens") { request, _ in
            let body = try await JSONCoding.decodeBody(CreateRequest.self, from: request)
            let (record, token) = try await access.create(
                name: body.name, scope: body.scope, streams: body.streams, requestsPerSecond: body.requestsPerSecond,
                eventsPerSecond: body.eventsPerSecond)
            return try JSONCoding.response(TokenResponse(record, token: token), status: .created)
        }
        router.get("/v1/tokens") { _, _ in
            try JSONCoding.response(TokensResponse(tokens: access.catalog.all.map { TokenResponse($0, token: nil) }))
        }
        router.delete("/v1/tokens/:name") { _, context in
            let name = try context.parameters.require("name")
            guard try await access.revoke(name) else { throw APIError(.notFound, code: "unknown_token", "no token named \"\(name)\"") }
            return Response(status: .noContent)
        }
    }
}

extension TokenResponse {
    init(_ record: AccessToken, token: String?) {
        self.init(
            name: record.name, id: record.id, scope: record.scope.rawValue, streams: record.streams, createdAt: record.createdAt, token: token,
            requestsPerSecond: record.requestsPerSecond, eventsPerSecond: record.eventsPerSecond)
    }
}
