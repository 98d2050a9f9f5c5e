import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection that speaks HTTP/1.1 by hand, for tests that must control exactly what
/// a client sends and when: a whole oversized body before reading the answer (as Python's urllib
/// does), bytes trickled one at a time, or malformed framing.
public final class RawHTTPConnection: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    private let socket: Int32

    /// An answer read off the wire.
    public struct Answer: Sendable {
        /// The status code.
        public var status: Int
        /// The body as text.
        public var body: String
        /// The header fields, by lower-case name (the last of a repeated one).
        public var headers: [String: String] = [:]

        /// The body decoded as `type` (JSON).
        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(type, from: Data(body.utf8))
        }
    }

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServerProcess.Failure(description: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(socket)
            throw ServerProcess.Failure(description: "connect() failed: errno \(errno)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Writes use MSG_NOSIGNAL; a peer that closes must not kill the test process.
    }

    deinit { close(socket) }

    /// Writes every byte; `false` when the peer has closed or reset the connection.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Writes a string's UTF-8 bytes.
    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Reads until the peer closes (or the receive timeout passes); `nil` when nothing came.
    public func readToClose() -> [UInt8]? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
        }
        return received.isEmpty ? nil : received
    }

    /// The first bytes of an answer (at least its status line), or `nil` when none arrives
    /// within `timeout`.
    public func readAnswerHead(within timeout: Duration) -> String? {
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
        return count > 0 ? String(decoding: chunk[0..<count], as: UTF8.self) : nil
    }

    /// Whether the peer closed the connection within `timeout`: a read returns end of file or an
    /// error rather than waiting on.
    public func closedByPeer(within timeout: Duration) -> Bool {
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        let count = Glibc.recv(socket, &byte, 1, 0)
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Sends a whole request (head and body) before reading anything, then reads one answer
    /// (`Connection: close` is sent, so the answer ends with the connection).
    public static func exchange(
        port: Int, method: String, path: String, host: String = "127.0.0.1", headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> Answer {
        let connection = try RawHTTPConnection(port: port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !headers.contains(where: { $0.0.lowercased() == "content-length" || $0.0.lowercased() == "transfer-encoding" }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        guard connection.write(Array(head.utf8) + body) else {
            throw ServerProcess.Failure(description: "the server closed the connection while the request was sent")
        }
        guard let bytes = connection.readToClose() else { throw ServerProcess.Failure(description: "no answer (connection reset or closed)") }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\r\n", maxSplits: 1).first, line.hasPrefix("HTTP/1.1 "),
            let status = Int(line.dropFirst(9).prefix(3))
        else { throw ServerProcess.Failure(description: "not an HTTP answer: \(text.prefix(200))") }
        let end = text.range(of: "\r\n\r\n")
        let body = end.map { String(text[$0.upperBound...]) } ?? ""
        var fields: [String: String] = [:]
        for line in text[..<(end?.lowerBound ?? text.endIndex)].split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: status, body: body, headers: fields)
    }
}
