import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TandemAPI
import Testing

@testable import TandemServer

/// A failure inside the server reaches the client as a generic 500 with a request id; what
/// failed (paths, SQL, addresses) goes to the log only.
@Suite("Internal errors leak nothing")
struct InternalErrorTests {
    struct Leaky: Error, CustomStringConvertible {
        var description: String { "could not open /var/lib/tandem/secret/segment-0001 for postgres://tandem:s3cret@db" }
    }

    @Test(arguments: [0, 1])
    func internalErrorsAreGeneric(kind: Int) async throws {
        let router = Router()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        router.middlewares.add(ErrorLoggingMiddleware(logger: logger))
        router.get("/fail") { _, _ -> String in
            if kind == 0 { throw Leaky() }
            throw APIError(.internalServerError, code: "log_write_failed", "\(Leaky())")
        }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/fail", method: .get)
            #expect(response.status == .internalServerError)
            let body = String(buffer: response.body)
            #expect(!body.contains("secret"))
            #expect(!body.contains("s3cret"))
            let error = try errorBody(response)
            #expect(error.code == "internal")
            let id = try #require(error.requestID)
            #expect(id.count == 16)
            #expect(response.headers[HTTPField.Name("Tandem-Request-Id")!] == id)
        }
    }
}
