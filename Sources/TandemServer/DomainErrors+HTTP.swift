import Aggregation
import BatchLayer
import Catalog
import Events
import HTTPAPI
import HTTPTypes
import Kafka
import TandemAPI

/// The one place where the domain's errors get their HTTP status; the error middleware applies it.
extension ViewError: HTTPMappedError {
    public var httpStatus: HTTPResponse.Status {
        switch code {
        case .viewConflict, .tooManyViews: .conflict
        // A query that ran out of time is not the client's mistake: retry later or narrow it.
        case .queryTimeout, .batchUnavailable, .partitionUnavailable: .serviceUnavailable
        default: .badRequest
        }
    }
    public var errorCode: String { code.rawValue }
    public var errorMessage: String { message }
    public var errorDetails: [APIError.Detail] { [APIError.Detail(field: field, code: code.rawValue, message: message)] }
    public var retryAfterSeconds: Int? { code == .batchUnavailable || code == .partitionUnavailable ? 5 : nil }
}

extension SchemaError: HTTPMappedError {
    public var httpStatus: HTTPResponse.Status { code == .streamConflict ? .conflict : .badRequest }
    public var errorCode: String { code.rawValue }
    public var errorMessage: String { message }
    public var errorDetails: [APIError.Detail] { [APIError.Detail(field: field, code: code.rawValue, message: message)] }
}

extension BatchError: HTTPMappedError {
    public var httpStatus: HTTPResponse.Status {
        switch code {
        case .jobRunning: .conflict
        case .unknownView, .unknownJob: .notFound
        case .unavailable, .anotherInstance, .notRunner: .serviceUnavailable
        }
    }
    public var errorCode: String { code.rawValue }
    public var errorMessage: String { message }
    public var errorDetails: [APIError.Detail] { [] }
    public var retryAfterSeconds: Int? { code == .jobRunning || code == .unknownView || code == .unknownJob ? nil : 5 }
}

/// What the Kafka cluster answered when a stream's topic was created or checked.
extension KafkaError: HTTPMappedError {
    public var httpStatus: HTTPResponse.Status {
        switch code {
        case .topicConflict: .conflict
        case .configuration: .internalServerError
        default: .serviceUnavailable
        }
    }
    public var errorCode: String { code == .topicConflict ? code.rawValue : "log_unavailable" }
    public var errorMessage: String { "Kafka: \(message)" }
    public var errorDetails: [APIError.Detail] { [] }
    public var retryAfterSeconds: Int? { httpStatus == .serviceUnavailable ? 5 : nil }
}

extension CatalogError: HTTPMappedError {
    public var httpStatus: HTTPResponse.Status { .serviceUnavailable }
    public var errorCode: String { code.rawValue }
    public var errorMessage: String { message }
    public var errorDetails: [APIError.Detail] { [] }
    public var retryAfterSeconds: Int? { 5 }
}
