import Events

/// The current schema of each stream, as the Kafka backend needs it: messages hold events as
/// JSON, and every read validates and encodes them with the stream's schema of the moment.
/// `TandemServer` conforms the stream catalog.
public protocol StreamSchemas: Sendable {
    /// The schema of a stream, if it exists.
    func schema(of stream: String) -> StreamDefinition?
}
