import Foundation
import HTTPAPI
import HTTPTypes
import Ingest
import Synchronization

/// A token bucket: `rate` units a second, holding at most `rate` (one second's worth). A take
/// larger than the bucket goes through once the bucket is full and leaves it in debt, so that a
/// large batch is allowed but the rate still holds over time.
struct TokenBucket: Sendable {
    let rate: Double
    private(set) var level: Double
    private var last: ContinuousClock.Instant

    init(rate: Double, now: ContinuousClock.Instant) {
        self.rate = rate
        self.level = rate
        self.last = now
    }

    /// Takes `amount` if it may go now; otherwise the seconds until it may.
    mutating func take(_ amount: Double, now: ContinuousClock.Instant) -> Double? {
        let elapsed = now - last
        last = now
        level = min(rate, level + rate * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        let needed = min(amount, rate)
        guard level >= needed else { return (needed - level) / rate }
        level -= amount
        return nil
    }
}

/// The request and event buckets of every token that has limits (`requests_per_second`,
/// `events_per_second`), by token id.
final class RateLimiter: Sendable {
    private let buckets = Mutex<[String: (requests: TokenBucket?, events: TokenBucket?)]>([:])

    /// Takes one request for `token`, or throws 429 `rate_limited`.
    func takeRequest(_ token: AccessToken) throws {
        guard let rate = token.requestsPerSecond else { return }
        try take(token, rate: rate, amount: 1, what: "requests", key: \.requests)
    }

    /// Takes `events` for `token`, or throws 429 `rate_limited`.
    func takeEvents(_ token: AccessToken, _ events: Int) throws {
        guard let rate = token.eventsPerSecond else { return }
        try take(token, rate: rate, amount: Double(events), what: "events", key: \.events)
    }

    private func take(
        _ token: AccessToken, rate: Double, amount: Double, what: String,
        key: WritableKeyPath<(requests: TokenBucket?, events: TokenBucket?), TokenBucket?>
    ) throws {
        let now = ContinuousClock.now
        let (wait, remaining): (Double?, Double) = buckets.withLock { all in
            var entry = all[token.id] ?? (nil, nil)
            var bucket = entry[keyPath: key].flatMap { $0.rate == rate ? $0 : nil } ?? TokenBucket(rate: rate, now: now)
            let wait = bucket.take(amount, now: now)
            entry[keyPath: key] = bucket
            all[token.id] = entry
            return (wait, bucket.level)
        }
        let limit = "\(Int(rate.rounded(.up)))"
        guard let wait else { return }
        // A rate as small as a client may set makes the wait as long as it likes: at most a day.
        let seconds = max(1, Int(min(wait, 86_400).rounded(.up)))
        var error = APIError(
            .tooManyRequests, code: "rate_limited",
            "token \"\(token.name)\" may send \(limit) \(what) a second; retry in \(seconds) s. Nothing was appended",
            retryAfterSeconds: seconds)
        error.headers[HTTPField.Name("RateLimit-Limit")!] = limit
        error.headers[HTTPField.Name("RateLimit-Remaining")!] = "\(max(0, Int(remaining)))"
        error.headers[HTTPField.Name("RateLimit-Reset")!] = "\(seconds)"
        throw error
    }

    /// Forgets a revoked token's buckets.
    func forget(_ token: AccessToken) { buckets.withLock { _ = $0.removeValue(forKey: token.id) } }
}

/// A token's event quota for the ingest path (``IngestQuota``).
struct TokenEventQuota: EventQuota {
    let limiter: RateLimiter
    let token: AccessToken

    func take(_ events: Int) throws { try limiter.takeEvents(token, events) }
}
