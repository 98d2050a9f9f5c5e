import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A small JSON-over-HTTP client for the verbs that talk to a server.
struct APIClient {
    let base: String
    let client: HTTPClient
    /// The bearer token sent with every request, if any.
    var token: String?

    /// A client of the server at `base`.
    init(base: String) {
        self.base = base
        self.client = Self.http
    }

    /// A client of the server at `base` that trusts the PEM certificates in `file` (as well as
    /// the system's).
    init(base: String, trusting file: String) throws {
        self.base = base
        var configuration = Self.configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        do { tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(file))] } catch {
            throw Failure(description: "--cacert: cannot read PEM certificates from \(file): \(error)")
        }
        configuration.tlsConfiguration = tls
        // Kept for the life of the process, like the shared client: a client must never be
        // released before it is shut down.
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        Self.kept.withLock { $0.append(client) }
    }

    private static let kept = Mutex<[HTTPClient]>([])

    /// The verbs' client: configured as `HTTPClient.shared`, except that a connection that cannot
    /// be made fails its request at once instead of being retried quietly until the request's
    /// deadline, so that a verb can say the server is unreachable and retry with its own backoff.
    static let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)

    static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// No connection could be made, so the request was never sent.
        var unsent = false
    }

    /// Sends a request; returns the status and body, throwing on transport errors only.
    func send(
        _ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, contentType: String = "application/json", contentEncoding: String? = nil,
        accept: String? = nil
    ) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let contentEncoding { request.headers.add(name: "Content-Encoding", value: contentEncoding) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(120))
        } catch {
            throw Failure(description: "cannot reach the server at \(base): \(error)", unsent: Self.isConnectFailure(error))
        }
        let bytes = try await response.body.collect(upTo: 512 << 20)
        return (Int(response.status.code), bytes)
    }

    /// Whether `error` says that no connection was made (refused, unreachable, or timed out while
    /// connecting), rather than that one broke after the request may have been sent.
    static func isConnectFailure(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError: return true
        case let error as HTTPClientError: return error == .connectTimeout
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case let error as IOError: return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode)
        default: return false
        }
    }

    /// Sends a request and fails with the server's error message unless it answers 2xx.
    func expectOK(_ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, contentType: String = "application/json") async throws -> ByteBuffer
    {
        let (status, bytes) = try await send(method, path, body: body, contentType: contentType)
        guard (200..<300).contains(status) else { throw Failure(description: "HTTP \(status): \(String(buffer: bytes))") }
        return bytes
    }

    /// Sends a request and decodes its 2xx answer as one of the API's response types.
    func decode<Answer: Decodable>(_ type: Answer.Type, _ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil) async throws -> Answer {
        let bytes = try await expectOK(method, path, body: body)
        return try Self.decode(type, from: bytes)
    }

    /// Decodes an answer, failing with a message that names what did not match.
    static func decode<Answer: Decodable>(_ type: Answer.Type, from bytes: ByteBuffer) throws -> Answer {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes.readableBytesView))
        } catch {
            throw Failure(description: "the server's answer is not a \(type): \(error)")
        }
    }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
