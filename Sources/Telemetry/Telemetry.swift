@_exported import CoreMetrics
import Synchronization

/// Where Tandem's components record their metrics: a swift-metrics factory given explicitly
/// (the executable bootstraps swift-prometheus's; tests give each server a registry of its own),
/// with the handles of each name and label set made once and kept, so that a hot path pays a
/// dictionary lookup at most, never a registration.
///
/// Names follow Prometheus conventions: `tandem_` prefix, `_total` for counters, `_seconds` for
/// durations, and the same label names for every series of a name.
public final class Telemetry: Sendable {
    /// The factory that makes the handles.
    public let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])

    /// Records nothing.
    public static let disabled = Telemetry(factory: NOOPMetricsHandler.instance)

    /// Creates a telemetry over `factory`.
    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        var key = name
        for (label, value) in labels {
            key += "\u{1}" + label + "\u{2}" + value
        }
        return key
    }

    /// The handle kept in `cache` under `key`, made by `make` the first time.
    private static func cached<Handle: Sendable>(_ cache: borrowing Mutex<[String: Handle]>, _ key: String, _ make: () -> Handle) -> Handle {
        if let handle = cache.withLock({ $0[key] }) { return handle }
        let handle = make()
        return cache.withLock { handles in
            if let existing = handles[key] { return existing }
            handles[key] = handle
            return handle
        }
    }

    /// The counter `name` with `labels`.
    public func counter(_ name: String, _ labels: [(String, String)] = []) -> Counter {
        Self.cached(counters, Self.key(name, labels)) { Counter(label: name, dimensions: labels, factory: factory) }
    }

    /// The duration histogram `name` with `labels` (Prometheus: seconds).
    public func timer(_ name: String, _ labels: [(String, String)] = []) -> Timer {
        Self.cached(timers, Self.key(name, labels)) { Timer(label: name, dimensions: labels, factory: factory) }
    }

    /// The gauge `name` with `labels`.
    public func gauge(_ name: String, _ labels: [(String, String)] = []) -> Gauge {
        Self.cached(gauges, Self.key(name, labels)) { Gauge(label: name, dimensions: labels, factory: factory) }
    }

    /// Sets the gauges named `name` to `values` (label set → value) and removes the series of
    /// that name that `values` no longer holds (a view or stream that is gone), so that a scrape
    /// never shows stale series.
    public func setGauges(_ name: String, _ values: [(labels: [(String, String)], value: Double)]) {
        var kept = Set<String>()
        for (labels, value) in values {
            kept.insert(Self.key(name, labels))
            gauge(name, labels).record(value)
        }
        let prefix = name + "\u{1}"
        let stale = gauges.withLock { gauges -> [Gauge] in
            let keys = gauges.keys.filter { ($0 == name || $0.hasPrefix(prefix)) && !kept.contains($0) }
            return keys.compactMap { gauges.removeValue(forKey: $0) }
        }
        for gauge in stale { gauge.destroy() }
    }
}

extension Timer {
    /// Records `duration`.
    public func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
    }

    /// Records the time since `start`.
    public func recordInterval(since start: ContinuousClock.Instant) {
        record(ContinuousClock.now - start)
    }
}

/// The PostgreSQL calls of this process (the batch layer's and the catalog's, each under its
/// deadline), counted as they start and end: `/metrics` shows the calls in flight (each holds,
/// or waits for, one of the pool's connections) and how calls ended.
public enum DatabaseCalls {
    /// Calls under way.
    public static let inFlight = Atomic<Int>(0)
    /// Calls that returned.
    public static let succeeded = Atomic<Int>(0)
    /// Calls that failed with an error of PostgreSQL or of the connection.
    public static let failed = Atomic<Int>(0)
    /// Calls abandoned at their deadline.
    public static let timedOut = Atomic<Int>(0)

    /// Runs `body` as one call; `isTimeout` tells a deadline's error from others.
    public static func track<T>(_ body: () async throws -> T, isTimeout: (any Error) -> Bool) async throws -> T {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        do {
            let value = try await body()
            succeeded.add(1, ordering: .relaxed)
            return value
        } catch {
            if isTimeout(error) {
                timedOut.add(1, ordering: .relaxed)
            } else {
                failed.add(1, ordering: .relaxed)
            }
            throw error
        }
    }
}
