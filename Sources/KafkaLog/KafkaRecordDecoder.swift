import EventLog
import Events
import Kafka

/// Turns Kafka messages, events as JSON written by Tandem or by any other producer, into the log's
/// records: validated against the stream's schema and encoded in the binary record format.
///
/// A message that fails validation (not an object, a missing or mistyped field, several events
/// in one message) is left out of the batch, which still covers its offset: the speed and batch
/// layers both skip it, so they agree. Only the absolute range of event times is checked (years
/// 0001 to 9999): how far an event time may lie from the time it was produced is checked by HTTP
/// ingest, and a producer may load history.
struct KafkaRecordDecoder {
    /// A message left out, with why.
    struct Rejection: Sendable {
        var offset: Int64
        var problem: String
    }

    private var parser: EventParser

    init(definition: StreamDefinition) {
        parser = EventParser(definition: definition, bounds: EventTimeBounds(maxAgeMilliseconds: nil, maxFutureMilliseconds: nil))
    }

    /// Appends the valid events of `messages` to `batch` and returns the messages left out.
    mutating func decode(_ messages: KafkaMessageBatch, into batch: inout RecordBatch) -> [Rejection] {
        var rejections: [Rejection] = []
        for message in messages {
            // A message without a timestamp (older formats) gets its ingest time from its event.
            let ingestTime = message.timestamp
            // One JSON object per message: an array is refused before parsing, so that none of
            // its events is taken.
            guard message.value.first(where: { !Self.isWhitespace($0) }) == UInt8(ascii: "{") else {
                rejections.append(Rejection(offset: message.offset, problem: "the message is not one JSON object"))
                continue
            }
            var accepted = false
            let summary = message.value.withUnsafeBytes { bytes in
                parser.parse(bytes, format: .json, ingestTime: ingestTime ?? 0, maxEvents: 1) { event in
                    batch.append(
                        offset: message.offset, eventTime: event.eventTime, ingestTime: ingestTime ?? event.eventTime, key: event.key,
                        payload: event.payload)
                    accepted = true
                }
            }
            if !accepted {
                let problem =
                    summary.issues.first.map { issue in issue.field.map { "\($0): \(issue.message)" } ?? issue.message }
                    ?? "the message holds no event"
                rejections.append(Rejection(offset: message.offset, problem: problem))
            }
        }
        // A batch that skipped messages still moves reading past them; an empty read stays empty
        // (no next offset: the caller is at the end).
        if !messages.isEmpty { batch.cover(upTo: messages.nextOffset) }
        return rejections
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
