import Hummingbird
import NIOCore

/// Reading request bodies with a size bound that every client can see.
public enum BoundedBody {
    /// Collects at most `limit` bytes of `request`'s body, or throws `tooLarge`.
    ///
    /// A body over the limit is still read to its end and thrown away before the error is
    /// answered. Closing with unread bytes makes the kernel reset the connection, and a client
    /// that sends its whole body before reading (Python's urllib, curl without `Expect`) would
    /// then see a reset instead of the 413. Reading on costs bandwidth only: nothing is kept,
    /// and `server.read_timeout` still bounds how long a request may take to arrive.
    public static func collect(_ request: Request, upTo limit: Int, tooLarge: @autoclosure () -> APIError) async throws -> ByteBuffer {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit {
            try await discard(request.body)
            throw tooLarge()
        }
        // One allocation for a body of declared length, instead of regrowing as parts arrive.
        var collected = ByteBuffer()
        collected.reserveCapacity(max(0, declared ?? 0))
        var iterator = request.body.makeAsyncIterator()
        while let part = try await iterator.next() {
            guard collected.readableBytes + part.readableBytes <= limit else {
                while try await iterator.next() != nil {}
                throw tooLarge()
            }
            var part = part
            collected.writeBuffer(&part)
        }
        return collected
    }

    private static func discard(_ body: RequestBody) async throws {
        for try await _ in body {}
    }
}
