import Foundation
import Hummingbird
import NIOCore

/// JSON at the edges of the API: one configured encoder and decoder, and helpers to answer with
/// JSON or to read a JSON request body with clear errors.
public enum JSONCoding {
    /// The encoder for answers: sorted keys, so answers are stable.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// An answer with a JSON body.
    public static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads and decodes a JSON request body, turning every failure into a 400 that names the
    /// field at fault. A body that is not declared `application/json` is refused with 415
    /// `unsupported_media_type` before it is read: a web page can send `text/plain` or a form to
    /// any site without asking, never JSON.
    public static func decodeBody<T: Decodable>(_ type: T.Type, from request: Request, maxBytes: Int = 1 << 20) async throws -> T {
        try requireJSON(request.headers[.contentType])
        let buffer = try await BoundedBody.collect(
            request, upTo: maxBytes, tooLarge: APIError(.contentTooLarge, code: "body_too_large", "the body is larger than \(maxBytes) bytes"))
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid_body", Self.describe(error), field: Self.path(of: error))
        } catch {
            throw APIError.badRequest("invalid_body", "the body is not valid JSON")
        }
    }

    /// Throws 415 unless `contentType` is `application/json` (with any parameters, such as a
    /// charset).
    public static func requireJSON(_ contentType: String?) throws {
        if contentType == "application/json" { return }
        let mediaType = mediaType(contentType)
        guard mediaType == "application/json" else {
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                "Content-Type must be application/json, got \(mediaType.isEmpty ? "none" : "\"\(mediaType)\"")")
        }
    }

    /// The media type of a `Content-Type` value, without parameters, in lower case (empty for none).
    public static func mediaType(_ contentType: String?) -> String {
        contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    static func path(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        @unknown default: return nil
        }
        let text = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return text.isEmpty ? nil : text
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case .typeMismatch(let type, let context): "\(path(of: error) ?? "value") has the wrong type (expected \(type)): \(context.debugDescription)"
        case .valueNotFound(_, _): "\(path(of: error) ?? "value") is null"
        case .dataCorrupted(let context):
            path(of: error).map { "\($0): \(context.debugDescription)" } ?? "the body is not valid JSON (\(context.debugDescription))"
        @unknown default: "invalid body"
        }
    }
}
