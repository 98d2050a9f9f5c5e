/// A bearer token as `POST /v1/tokens` and `GET /v1/tokens` describe it. Only the answer to its
/// creation carries the token itself.
public struct TokenResponse: Codable, Sendable, Equatable {
    /// The token's name.
    public var name: String
    /// Its public id (the part after `tdm_`).
    public var id: String
    /// `ingest`, `query` or `admin`.
    public var scope: String
    /// The streams an ingest token is limited to, if any.
    public var streams: [String]?
    /// When it was made (RFC 3339).
    public var createdAt: String
    /// The whole token, in the answer to its creation only.
    public var token: String?

    enum CodingKeys: String, CodingKey {
        case name, id, scope, streams, token
        case createdAt = "created_at"
    }

    /// Creates a description.
    public init(name: String, id: String, scope: String, streams: [String]?, createdAt: String, token: String?) {
        self.name = name
        self.id = id
        self.scope = scope
        self.streams = streams
        self.createdAt = createdAt
        self.token = token
    }
}

/// `GET /v1/tokens`.
public struct TokensResponse: Codable, Sendable, Equatable {
    /// Every token, by name.
    public var tokens: [TokenResponse]

    /// Creates a list.
    public init(tokens: [TokenResponse]) { self.tokens = tokens }
}
