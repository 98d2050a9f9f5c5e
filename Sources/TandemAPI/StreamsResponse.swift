import Events

/// The answer of `GET /v1/streams`.
public struct StreamsResponse: Codable, Sendable, Equatable {
    /// Every stream, by name.
    public var streams: [StreamDefinition]

    /// Creates an answer.
    public init(streams: [StreamDefinition]) { self.streams = streams }
}
