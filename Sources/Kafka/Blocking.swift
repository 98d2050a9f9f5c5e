import Foundation

/// Runs a blocking librdkafka call (metadata, admin requests, flush) on a thread of its own, so
/// that it never holds a NIO event loop or a thread of Swift's cooperative pool while it waits
/// for the network.
func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Swift.Result { try body() })
        }
        thread.name = "librdkafka-call"
        thread.start()
    }
}
