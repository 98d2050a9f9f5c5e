import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Plain HTTP calls to a real server, for tests.
public struct HTTPTestClient: Sendable {
    /// The server's base URL.
    public let baseURL: String

    /// Creates a client for `baseURL`.
    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    /// Sends a request and returns the status code and body text.
    public func send(
        _ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String = "application/json",
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> (status: Int, body: String) {
        let (status, _, text) = try await exchange(method, path, body: body, contentType: contentType, headers: headers, timeout: timeout)
        return (status, text)
    }

    /// Sends a request as ``send(_:_:body:contentType:timeout:)`` does, and returns the
    /// response's headers too.
    public func exchange(
        _ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String = "application/json",
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return (Int(response.status.code), response.headers, String(buffer: bytes))
    }

    /// Reads every record of a stream's partition via `GET /records`, each NDJSON line decoded as
    /// `type` (the records' `offset` pages on).
    public func readAll<Record: Decodable>(_ type: Record.Type, stream: String, partition: Int) async throws -> [Record] {
        let decoder = JSONDecoder()
        var offset: Int64 = 0
        var records: [Record] = []
        while true {
            let (status, body) = try await send(.GET, "/v1/streams/\(stream)/records?partition=\(partition)&offset=\(offset)&limit=10000")
            guard status == 200 else { throw ServerProcess.Failure(description: "records: HTTP \(status) \(body)") }
            let lines = body.split(separator: "\n")
            if lines.isEmpty { return records }
            for line in lines {
                let data = Data(line.utf8)
                records.append(try decoder.decode(Record.self, from: data))
                offset = try decoder.decode(Place.self, from: data).offset + 1
            }
        }
    }

    /// The place of a record in its partition, all `readAll` needs to page on.
    private struct Place: Decodable {
        var offset: Int64
    }
}
