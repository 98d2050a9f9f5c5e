import Catalog
import Crypto
import Events
import Foundation
import HTTPAPI
import HTTPTypes

/// A bearer token's record in the catalog: its name, public id, scope and the SHA-256 of its
/// secret (the secret itself is shown once, when it is made, and never stored).
///
/// A token reads `tdm_<id>_<secret>`: the id finds the record, and the secret's hash is compared
/// in constant time.
public struct AccessToken: CatalogEntry {
    /// What a token may do.
    public enum Scope: String, Codable, Sendable, CaseIterable {
        /// Post events (to the token's streams, when it names any).
        case ingest
        /// Queries, and reading views, stream definitions, records and status.
        case query
        /// Everything, including streams, views, jobs and tokens.
        case admin
    }

    public static var kind: String { "tokens" }
    /// The most tokens a server keeps.
    static let maxTokens = 10_000

    /// The token's name (unique).
    public var name: String
    /// The public part that finds the record.
    public var id: String
    /// What it may do.
    public var scope: Scope
    /// For an ingest token, the only streams it may post to; `nil` for every stream.
    public var streams: [String]?
    /// The SHA-256 of the secret, in hex.
    public var hash: String
    /// When it was made (RFC 3339).
    public var createdAt: String
    /// The most requests a second (a token bucket); `nil` for no limit.
    public var requestsPerSecond: Double?
    /// The most events a second it may post; `nil` for no limit.
    public var eventsPerSecond: Double?

    enum CodingKeys: String, CodingKey {
        case name, id, scope, streams, hash
        case createdAt = "created_at"
        case requestsPerSecond = "requests_per_second"
        case eventsPerSecond = "events_per_second"
    }

    /// A new token: its record and the whole token, which only its creator sees.
    public static func make(
        name: String, scope: Scope, streams: [String]?, requestsPerSecond: Double? = nil, eventsPerSecond: Double? = nil
    ) -> (AccessToken, String) {
        let id = randomText(bytes: 6), secret = randomText(bytes: 24)
        let record = AccessToken(
            name: name, id: id, scope: scope, streams: streams, hash: digest(secret), createdAt: Timestamp.format(Timestamp.now()),
            requestsPerSecond: requestsPerSecond, eventsPerSecond: eventsPerSecond)
        return (record, "tdm_\(id)_\(secret)")
    }

    /// The id and secret of a presented token, when it has the shape of one.
    static func parts(of token: Substring) -> (id: Substring, secret: Substring)? {
        guard token.hasPrefix("tdm_") else { return nil }
        let rest = token.dropFirst(4)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let id = rest[..<separator], secret = rest[rest.index(after: separator)...]
        guard !id.isEmpty, !secret.isEmpty, secret.count <= 128 else { return nil }
        return (id, secret)
    }

    /// Whether `secret` hashes to `digest` (the stored hash's bytes), compared in constant time.
    static func matches(secret: Substring, digest stored: [UInt8]) -> Bool {
        var difference: UInt8 = 0
        var count = 0
        for byte in SHA256.hash(data: Data(secret.utf8)) {
            difference |= count < stored.count ? byte ^ stored[count] : 1
            count += 1
        }
        return difference == 0 && count == stored.count
    }

    /// The bytes of ``hash`` (hex), decoded once when the token is indexed.
    var digestBytes: [UInt8] {
        var bytes: [UInt8] = []
        var index = hash.startIndex
        while index < hash.endIndex, let next = hash.index(index, offsetBy: 2, limitedBy: hash.endIndex) {
            guard let byte = UInt8(hash[index..<next], radix: 16) else { return [] }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// Whether the token may do what `need` asks.
    func allows(_ need: AccessNeed) -> Bool {
        switch (scope, need) {
        case (.admin, _): true
        case (.query, .query): true
        case (.ingest, .ingest(let stream)): streams.map { $0.contains(stream) } ?? true
        default: false
        }
    }

    static func digest(_ secret: some StringProtocol) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func randomText(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(raw).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "-")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func resolve(
        _ requested: AccessToken, over existing: AccessToken?, among entries: some Collection<AccessToken>, limits: CatalogLimits
    ) throws -> AccessToken {
        guard existing == nil else {
            throw APIError(.conflict, code: "token_exists", "a token named \"\(requested.name)\" exists; revoke it first")
        }
        guard entries.count < maxTokens else {
            throw APIError(.conflict, code: "too_many_tokens", "the server already keeps \(maxTokens) tokens")
        }
        return requested
    }
}

/// What a request needs of its token.
enum AccessNeed: Equatable, CustomStringConvertible {
    /// Posting events to a stream.
    case ingest(String)
    /// Reading: queries, definitions, records, status, metrics.
    case query
    /// Anything else.
    case admin

    /// What `method` on `path` needs.
    static func of(method: String, path: String) -> AccessNeed {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        if method == "POST", parts.count == 4, parts[0] == "v1", parts[1] == "streams", parts[3] == "events" { return .ingest(String(parts[2])) }
        if method == "POST", parts == ["v1", "query"] { return .query }
        if method == "GET" || method == "HEAD" {
            if parts.isEmpty || parts == ["v1", "status"] || parts == ["metrics"] { return .query }
            if parts.count >= 2, parts[0] == "v1", parts[1] == "streams" || parts[1] == "views" { return .query }
        }
        return .admin
    }

    var description: String {
        switch self {
        case .ingest(let stream): "the ingest scope for stream \"\(stream)\""
        case .query: "the query scope"
        case .admin: "the admin scope"
        }
    }
}
