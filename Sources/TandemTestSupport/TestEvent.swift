import Foundation

/// One generated pageview, kept to recompute answers by brute force.
public struct TestEvent: Sendable {
    /// Event time, epoch milliseconds.
    public var ts: Int64
    /// The page.
    public var url: String
    /// The user (the stream's key), if any.
    public var user: String?
    /// Latency in milliseconds, if any.
    public var latency: Double?
    /// An int field, summed and maxed by the test views.
    public var n: Int64

    /// Creates an event.
    public init(ts: Int64, url: String, user: String?, latency: Double?, n: Int64) {
        self.ts = ts
        self.url = url
        self.user = user
        self.latency = latency
        self.n = n
    }

    /// The event as the JSON a client posts.
    public var json: String {
        var text = #"{"ts":\#(ts),"url":"\#(url)","n":\#(n)"#
        if let user { text += #","user_id":"\#(user)""# }
        if let latency { text += #","latency_ms":\#(latency)"# }
        return text + "}"
    }

    /// `count` events over three hours from 2025-11-20T00:00:00Z, the same for the same seed.
    public static func random(count: Int, seed: UInt64) -> [TestEvent] {
        var random = SplitMix64(seed: seed)
        let base: Int64 = 1_763_596_800_000  // 2025-11-20T00:00:00Z
        return (0..<count).map { _ in
            TestEvent(
                ts: base + Int64.random(in: 0..<(3 * 3_600_000), using: &random),
                url: "/p/\(Int.random(in: 0..<5, using: &random))",
                user: Bool.random(using: &random) ? "u\(Int.random(in: 0..<40, using: &random))" : nil,
                latency: Int.random(in: 0..<4, using: &random) == 0 ? nil : Double(Int.random(in: -800..<8000, using: &random)) / 8,
                n: Int64.random(in: -1000...1000, using: &random))
        }
    }
}

/// Epoch milliseconds of an RFC 3339 answer time.
public func Events_parse(_ text: String) -> Int64 {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return Int64((formatter.date(from: text)!.timeIntervalSince1970 * 1000).rounded())
}
