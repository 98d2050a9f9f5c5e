import CRdKafka
import Foundation
import Logging

/// One librdkafka client instance (`rd_kafka_t`) and what its callbacks need.
///
/// librdkafka's handle is thread-safe; this class owns it, destroys it once, and routes
/// librdkafka's own log lines to the caller's `Logger` rather than to standard error.
final class KafkaHandle: @unchecked Sendable {
    enum Kind {
        case producer
        case consumer
    }

    /// What librdkafka's callbacks reach through `rd_kafka_opaque`.
    final class Context: Sendable {
        let logger: Logger
        init(logger: Logger) { self.logger = logger }
    }

    let pointer: OpaquePointer
    private let context: Unmanaged<Context>

    /// Creates a client.
    /// - Parameters:
    ///   - settings: properties in order; a later one wins over an earlier one.
    ///   - configure: sets callbacks on the configuration before the client takes it.
    init(
        _ kind: Kind, settings: [(String, String)], logger: Logger,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError(.configuration, "librdkafka could not allocate a configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in settings {
            guard rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(.configuration, "kafka property \"\(name)\": \(Self.text(errorText))")
            }
        }
        let context = Unmanaged.passRetained(Context(logger: logger))
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let logger = Unmanaged<Context>.fromOpaque(opaque).takeUnretainedValue().logger
            // syslog levels: 0-3 errors, 4 warning, 5-6 notice and info, 7 debug.
            let swiftLevel: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
            logger.log(
                level: swiftLevel, "\(message.map { String(cString: $0) } ?? "")",
                metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"])
        }
        configure(conf)
        guard let pointer = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            // On failure the configuration still belongs to the caller.
            rd_kafka_conf_destroy(conf)
            context.release()
            throw KafkaError(.configuration, "librdkafka refused the configuration: \(Self.text(errorText))")
        }
        self.pointer = pointer
        self.context = context
    }

    deinit {
        // rd_kafka_destroy waits for librdkafka's threads (up to a broker round trip or more):
        // never on a thread of the cooperative pool or a NIO event loop, wherever the last
        // reference goes.
        let doomed = Doomed(pointer: pointer, context: context)
        let thread = Thread {
            rd_kafka_destroy(doomed.pointer)
            doomed.context.release()
        }
        thread.name = "librdkafka-destroy"
        thread.start()
    }

    /// A handle on its way to `rd_kafka_destroy`, handed to the thread that destroys it (the only
    /// user from then on).
    private struct Doomed: @unchecked Sendable {
        let pointer: OpaquePointer
        let context: Unmanaged<Context>
    }

    /// The text in a C buffer that librdkafka filled.
    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// librdkafka's name for an error code, such as `_TRANSPORT` or `UNKNOWN_TOPIC_OR_PART`.
    static func name(_ error: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2name(error))
    }

    /// librdkafka's description of an error code.
    static func describe(_ error: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(error))
    }

    /// Maps a librdkafka error code to Tandem's error.
    static func error(_ error: rd_kafka_resp_err_t, _ what: String) -> KafkaError {
        let code: KafkaError.Code
        switch error {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR__RESOLVE:
            code = .unavailable
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            code = .unknownTopic
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            code = .unknownPartition
        case RD_KAFKA_RESP_ERR__DESTROY:
            code = .closed
        default:
            code = .refused
        }
        return KafkaError(code, "\(what): \(describe(error))", kafkaCode: name(error))
    }
}
