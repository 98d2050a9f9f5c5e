import HTTPAPI
import HTTPTypes
import Hummingbird
import NIOCore
import SpeedLayer

/// The endpoints servers call on each other when they divide partitions
/// (``DividedPartitions``), under `/internal/v1`. Each needs the cluster key in
/// `Tandem-Cluster-Key` (not a user's token: 401 `unauthenticated` without it).
///
/// - `GET /internal/v1/views/{name}/partitions?partitions=0,2&cut=…&from=…&to=…&wait_ms=…`: the
///   speed state of the partitions asked at or after the cut, in ``PartitionExport``'s binary
///   form. A partition still catching up is waited for, up to `wait_ms`.
/// - `POST /internal/v1/views/{name}/cut?partitions=0,2&at_least=…`: opens a segment in each
///   partition asked that this server computes (at no offset below `at_least`, the published
///   cut), and answers `partition:offset` pairs, comma-separated.
struct InternalRoutes {
    let partitions: DividedPartitions

    func register<Context: RequestContext>(on router: Router<Context>) {
        let partitions = self.partitions
        let speed = partitions.speed
        @Sendable func check(_ request: Request) async throws {
            guard await partitions.accepts(request.headers[HTTPField.Name(DividedPartitions.keyHeader)!]) else {
                throw APIError(.unauthorized, code: "unauthenticated", "internal endpoints need the cluster key")
            }
        }
        @Sendable func numbers(_ request: Request, _ name: String) throws -> [Int64] {
            guard let text = request.uri.queryParameters.get(name) else { return [] }
            return try text.split(separator: ",").map { item in
                guard let number = Int64(item) else { throw APIError(.badRequest, code: "invalid_request", "\(name): not a list of integers") }
                return number
            }
        }
        router.get("/internal/v1/views/{name}/partitions") { request, context in
            try await check(request)
            let name = context.parameters.get("name") ?? ""
            let wanted = try numbers(request, "partitions").map { Int($0) }
            let cut = try numbers(request, "cut")
            let from = try numbers(request, "from").first ?? .min, to = try numbers(request, "to").first ?? .max
            let wait = Duration.milliseconds(min(try numbers(request, "wait_ms").first ?? 0, 60_000))
            let deadline = ContinuousClock.now + wait
            while !speed.isCaughtUp(view: name, partitions: wanted), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            guard let exports = speed.export(view: name, partitions: wanted, atOrAfter: cut, from: from, to: to) else {
                throw APIError(.notFound, code: "unknown_view", "view \"\(name)\" is not running here")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PartitionExport.encode(exports))))
        }
        router.post("/internal/v1/views/{name}/cut") { request, context in
            try await check(request)
            let name = context.parameters.get("name") ?? ""
            let wanted = Set(try numbers(request, "partitions").map { Int($0) })
            let floor = try numbers(request, "at_least")
            let opened = try speed.openSegment(view: name, partitions: wanted, atLeast: floor.isEmpty ? nil : floor)
            let text = opened.keys.sorted().map { "\($0):\(opened[$0]!)" }.joined(separator: ",")
            var headers = HTTPFields()
            headers[.contentType] = "text/plain"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
