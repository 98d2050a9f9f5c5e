/// How a request body frames its events.
public enum BodyFormat: Sendable {
    /// One JSON object, or a JSON array of objects.
    case json
    /// One JSON object per line.
    case ndjson
}
