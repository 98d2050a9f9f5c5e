import CRdKafka
import Synchronization

/// The delivery reports of one ``KafkaProducer/send(_:to:)`` call.
///
/// Each message's opaque pointer is its slot in a buffer owned by this object; librdkafka's
/// delivery callback fills the slot, and the last report resumes the sender. The object stays
/// retained by librdkafka's messages until the last report arrives, so a sender that is gone
/// cannot leave a dangling pointer behind.
final class DeliveryReports: Sendable {
    struct Slot {
        var owner: Unmanaged<DeliveryReports>
        var partition: Int32 = -1
        var offset: Int64 = -1
        var error: rd_kafka_resp_err_t = RD_KAFKA_RESP_ERR_NO_ERROR
    }

    private struct State {
        var remaining: Int
        var continuation: CheckedContinuation<[KafkaDelivery], any Error>?
        var finished = false
    }

    nonisolated(unsafe) let slots: UnsafeMutablePointer<Slot>
    let count: Int
    private let state: Mutex<State>

    init(count: Int) {
        self.count = count
        self.slots = .allocate(capacity: count)
        self.state = Mutex(State(remaining: count))
    }

    deinit { slots.deallocate() }

    /// Points every slot at this object, and keeps it alive for librdkafka until the last report.
    func prepare() {
        let owner = Unmanaged.passRetained(self)
        slots.initialize(repeating: Slot(owner: owner), count: count)
    }

    /// A message was not queued: its slot records why, as if a report had come.
    func refuse(_ index: Int, _ error: rd_kafka_resp_err_t) {
        slots[index].error = error
        reportOne()
    }

    /// Called for each report (on the thread serving the producer's queue).
    func reportOne() {
        let (continuation, done): (CheckedContinuation<[KafkaDelivery], any Error>?, Bool) = state.withLock { state in
            state.remaining -= 1
            guard state.remaining == 0 else { return (nil, false) }
            state.finished = true
            defer { state.continuation = nil }
            return (state.continuation, true)
        }
        guard done else { return }
        continuation?.resume(with: result())
        // The retain taken in prepare(): librdkafka holds no more pointers into the slots.
        slots[0].owner.release()
    }

    /// Waits for every report.
    func wait() async throws -> [KafkaDelivery] {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state in
                if !state.finished { state.continuation = continuation }
                return state.finished
            }
            if ready { continuation.resume(with: result()) }
        }
    }

    private func result() -> Result<[KafkaDelivery], any Error> {
        var deliveries: [KafkaDelivery] = []
        deliveries.reserveCapacity(count)
        for index in 0..<count {
            let slot = slots[index]
            if slot.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                var error = KafkaHandle.error(slot.error, "message \(index + 1) of \(count) was not delivered")
                if error.code == .refused { error.code = .delivery }
                return .failure(error)
            }
            deliveries.append(KafkaDelivery(partition: Int(slot.partition), offset: slot.offset >= 0 ? slot.offset : nil))
        }
        return .success(deliveries)
    }
}
