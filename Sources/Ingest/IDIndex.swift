import Events
import Synchronization

/// A set of event fingerprints: open addressing with linear probing over a power-of-two table of
/// 16-byte slots, grown at three quarters full. A fingerprint is already uniformly random, so its
/// low bits are the slot.
struct FingerprintTable {
    /// `high, low` pairs; `high == 0` marks an empty slot (fingerprints never have it).
    private var slots: [UInt64]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 1024) {
        var size = 16
        while size * 3 / 4 < capacity { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size * 2)
        mask = size - 1
    }

    /// Bytes held by the table.
    var bytes: Int { slots.count * 8 }

    func contains(_ id: EventFingerprint) -> Bool {
        slots.withUnsafeBufferPointer { slots in
            var index = Int(truncatingIfNeeded: id.low) & mask
            while true {
                let high = slots[index * 2]
                if high == 0 { return false }
                if high == id.high && slots[index * 2 + 1] == id.low { return true }
                index = (index + 1) & mask
            }
        }
    }

    /// Adds `id`; returns whether it was new.
    @discardableResult
    mutating func insert(_ id: EventFingerprint) -> Bool {
        if (count + 1) * 4 > (mask + 1) * 3 { grow() }
        let inserted = slots.withUnsafeMutableBufferPointer { slots in
            var index = Int(truncatingIfNeeded: id.low) & mask
            while true {
                let high = slots[index * 2]
                if high == 0 {
                    slots[index * 2] = id.high
                    slots[index * 2 + 1] = id.low
                    return true
                }
                if high == id.high && slots[index * 2 + 1] == id.low { return false }
                index = (index + 1) & mask
            }
        }
        if inserted { count += 1 }
        return inserted
    }

    private mutating func grow() {
        var bigger = FingerprintTable(capacity: (mask + 1) * 2 * 3 / 4)
        for index in 0...mask where slots[index * 2] != 0 {
            bigger.insert(EventFingerprint(high: slots[index * 2], low: slots[index * 2 + 1]))
        }
        self = bigger
    }
}

/// The ids one stream has accepted within its de-duplication window, and the ids of requests in
/// flight.
///
/// Ids are kept in generations, one per `window / 4` of ingest time: an id is found while any
/// generation holding it is kept, and a generation is dropped once everything in it is older than
/// the window. So an id is remembered for at least the window and at most a quarter longer.
/// Memory is 16 bytes per slot at a load of three eighths to three quarters: 21 to 43 bytes per
/// remembered id, whatever the ids' length (`tandem bench dedup` measured 40 bytes per id, 384
/// MiB, for 10M ids).
///
/// A request first *reserves* its new ids, then appends, then *commits* the ids whose partitions
/// were written (and releases the rest). A request that meets an id reserved by another waits for
/// that request to finish and looks again, so two concurrent retries of one event never both
/// append it, and an id is never remembered for an append that failed.
public final class IDIndex: Sendable {
    struct Generation {
        var start: Int64
        var table: FingerprintTable
    }

    struct State {
        var generations: [Generation] = []
        var reserved: [EventFingerprint: UInt64] = [:]
        /// Tickets of reservations not yet settled.
        var active: Set<UInt64> = []
        var waiters: [UInt64: [CheckedContinuation<Void, Never>]] = [:]
        var nextTicket: UInt64 = 1
    }

    /// How long an id is remembered at least, in milliseconds of ingest time.
    public let windowMilliseconds: Int64
    /// The longest window: 3650 days.
    public static let maxWindowMilliseconds: Int64 = 3650 * 86_400_000
    private let span: Int64
    private let state = Mutex(State())

    /// Creates an empty index.
    /// - Parameter windowMilliseconds: how long an id is remembered at least.
    public init(windowMilliseconds: Int64) {
        // At most ``maxWindowMilliseconds``, so that `now - window` and a generation's end never
        // overflow whatever the configuration says.
        self.windowMilliseconds = min(max(windowMilliseconds, 1), Self.maxWindowMilliseconds)
        self.span = max(self.windowMilliseconds / 4, 1)
    }

    /// Ids remembered, and bytes of their tables.
    public var size: (ids: Int, bytes: Int) {
        state.withLock { state in
            (state.generations.reduce(0) { $0 + $1.table.count }, state.generations.reduce(0) { $0 + $1.table.bytes })
        }
    }

    /// Remembers `id` as accepted at `time` (epoch milliseconds): how a restart refills the index
    /// from the log. Times may come in any order.
    public func remember(_ id: EventFingerprint, at time: Int64) {
        state.withLock { state in
            expire(&state, now: time)
            insert(id, at: time, into: &state)
        }
    }

    private func insert(_ id: EventFingerprint, at time: Int64, into state: inout State) {
        let start = time - ((time % span) + span) % span
        // (Comparing through `generations.last?.start`: binding the last generation would hold a
        // second reference to its table and make every insert copy it.)
        if state.generations.last?.start == start {
            state.generations[state.generations.count - 1].table.insert(id)
            return
        }
        if let index = state.generations.firstIndex(where: { $0.start >= start }) {
            if state.generations[index].start != start {
                state.generations.insert(Generation(start: start, table: FingerprintTable()), at: index)
            }
            state.generations[index].table.insert(id)
        } else {
            var table = FingerprintTable(capacity: max(1024, state.generations.last?.table.count ?? 0))
            table.insert(id)
            state.generations.append(Generation(start: start, table: table))
        }
    }

    /// Drops the generations whose every id is older than the window at `now`.
    private func expire(_ state: inout State, now: Int64) {
        let oldest = now - windowMilliseconds
        while let first = state.generations.first, first.start + span <= oldest {
            state.generations.removeFirst()
        }
    }

    private func known(_ id: EventFingerprint, in state: State) -> Bool {
        for generation in state.generations.reversed() where generation.table.contains(id) { return true }
        return false
    }

    /// A request's claim on its new ids, to settle with ``settle(_:appended:now:)``.
    public struct Reservation: Sendable {
        let ticket: UInt64
        let claimed: [EventFingerprint]
        /// For each id asked about: whether the request should append the event (a new id, or
        /// none); `false` for a duplicate, of an earlier request or of an earlier event of this one.
        public let isNew: [Bool]
        /// How many ids were duplicates.
        public var duplicates: Int { isNew.lazy.filter { !$0 }.count }
    }

    /// Reserves the new ids among `ids` (`nil`: an event without an id, always appended), waiting
    /// for any request in flight that holds one of them.
    public func reserve(_ ids: [EventFingerprint?], now: Int64) async -> Reservation {
        while true {
            let outcome = state.withLock { state -> Result<Reservation, Blocked> in
                expire(&state, now: now)
                let ticket = state.nextTicket
                state.nextTicket += 1
                var isNew = [Bool](repeating: true, count: ids.count)
                var claimed: [EventFingerprint] = []
                for (position, id) in ids.enumerated() {
                    guard let id else { continue }
                    if let holder = state.reserved[id] {
                        if holder == ticket {
                            isNew[position] = false
                            continue
                        }
                        // Held by a request in flight: let go of ours and wait for it. (Holding
                        // ours while waiting could deadlock two requests with crossed ids.)
                        for mine in claimed { state.reserved[mine] = nil }
                        return .failure(Blocked(ticket: holder))
                    }
                    if known(id, in: state) {
                        isNew[position] = false
                    } else {
                        state.reserved[id] = ticket
                        claimed.append(id)
                    }
                }
                if !claimed.isEmpty { state.active.insert(ticket) }
                return .success(Reservation(ticket: ticket, claimed: claimed, isNew: isNew))
            }
            switch outcome {
            case .success(let reservation): return reservation
            case .failure(let blocked):
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let waiting = state.withLock { state -> Bool in
                        guard state.active.contains(blocked.ticket) else { return false }
                        state.waiters[blocked.ticket, default: []].append(continuation)
                        return true
                    }
                    if !waiting { continuation.resume() }
                }
            }
        }
    }

    private struct Blocked: Error {
        var ticket: UInt64
    }

    /// Settles a reservation: the ids in `appended` are remembered as of `now`, every other id
    /// of the reservation is released, and requests waiting on it look again.
    public func settle(_ reservation: Reservation, appended: [EventFingerprint], now: Int64) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            for id in appended { insert(id, at: now, into: &state) }
            for id in reservation.claimed { state.reserved[id] = nil }
            state.active.remove(reservation.ticket)
            return state.waiters.removeValue(forKey: reservation.ticket) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }
}
