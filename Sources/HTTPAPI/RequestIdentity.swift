import Logging

/// The id of the request a task serves: every log line written while it is served carries it as
/// `request_id` (through ``metadataProvider``, which `tandem serve` installs), and the answer
/// returns it in `Tandem-Request-Id`, so that a client's report leads to every line its request
/// caused.
public enum RequestIdentity {
    /// The request being served by this task, if any.
    @TaskLocal public static var current: String?

    /// A fresh id: 16 random hex digits.
    public static func make() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Adds `request_id` to log lines written while a request is served.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = current else { return [:] }
        return ["request_id": .string(id)]
    }
}
