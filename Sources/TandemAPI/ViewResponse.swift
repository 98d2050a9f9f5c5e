import Aggregation

/// A view as `GET /v1/views/{name}` shows it: its definition, with the speed layer's progress on
/// it under `status` and, when it could not start, why under `failed`.
public struct ViewResponse: Codable, Sendable, Equatable {
    /// The definition.
    public var view: ViewDefinition
    /// The speed layer's progress, while the view runs.
    public var status: SpeedViewStatus?
    /// Why the view could not start, when it could not.
    public var failure: String?

    private enum Key: String, CodingKey {
        case status
        case failure = "failed"
    }

    /// Creates an answer.
    public init(view: ViewDefinition, status: SpeedViewStatus?, failure: String?) {
        self.view = view
        self.status = status
        self.failure = failure
    }

    public init(from decoder: any Decoder) throws {
        view = try ViewDefinition(from: decoder)
        let container = try decoder.container(keyedBy: Key.self)
        status = try container.decodeIfPresent(SpeedViewStatus.self, forKey: .status)
        failure = try container.decodeIfPresent(String.self, forKey: .failure)
    }

    public func encode(to encoder: any Encoder) throws {
        try view.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encodeIfPresent(failure, forKey: .failure)
    }
}
