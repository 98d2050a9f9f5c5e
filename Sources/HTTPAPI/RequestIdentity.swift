import Logging
import Synchronization

/// The id of the request a task serves: every log line written while it is served carries it as
/// `request_id` (through ``metadataProvider``, which `tandem serve` installs), and the answer
/// returns it in `Tandem-Request-Id`, so that a client's report leads to every line its request
/// caused.
public enum RequestIdentity {
    /// The request being served by this task, if any.
    @TaskLocal public static var current: String?

    /// A fresh id: 16 hex digits, a random prefix drawn once per process followed by a counter, so
    /// that ids are unique within a process, unlikely to repeat across processes, and cost no
    /// system call (a random draw per request is a `getrandom` call).
    public static func make() -> String {
        let value = prefix << 40 | (sequence.add(1, ordering: .relaxed).newValue & 0xFF_FFFF_FFFF)
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 {
                let digit = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0xF
                buffer[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
            }
            return 16
        }
    }

    private static let prefix = UInt64.random(in: 0...0xFF_FFFF)
    private static let sequence = Atomic<UInt64>(0)

    /// Adds `request_id` to log lines written while a request is served.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let id = current else { return [:] }
        return ["request_id": .string(id)]
    }
}
