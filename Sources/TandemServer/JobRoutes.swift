import BatchLayer
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import TandemAPI

/// `POST /v1/jobs` (202), `GET /v1/jobs`, `GET /v1/jobs/{id}`.
///
/// One job per view at a time: asking for another while one is queued or running answers 409
/// `job_running` (it is not queued twice).
struct JobRoutes: Sendable {
    let batch: BatchLayer?
    let views: ViewService

    struct JobRequest: Decodable {
        var view: String?
        var mode: JobMode?
        var trigger: String?
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/jobs") { request, _ in
            // A body that is not JSON is refused first, whatever the batch layer's state.
            try JSONCoding.requireJSON(request.headers[.contentType])
            let batch = try available()
            let body = try await JSONCoding.decodeBody(JobRequest.self, from: request)
            let mode = body.mode ?? .incremental
            let trigger = body.trigger == "cli" ? "cli" : "api"
            if let view = body.view {
                let job = try await submit(batch, view: view, mode: mode, trigger: trigger)
                return try JSONCoding.response(JobResponse(job), status: .accepted)
            }
            var jobs: [JobResponse] = []
            var skipped: [JobsResponse.Skipped] = []
            for view in views.compiledViews.map(\.name).sorted() {
                do {
                    jobs.append(JobResponse(try await submit(batch, view: view, mode: mode, trigger: trigger)))
                } catch let error as BatchError {
                    skipped.append(.init(view: view, code: error.errorCode))
                }
            }
            return try JSONCoding.response(JobsResponse(jobs: jobs, skipped: skipped), status: .accepted)
        }
        router.get("/v1/jobs") { request, _ in
            let batch = try available()
            let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 100
            let jobs = try await batch.jobs(limit: limit)
            return try JSONCoding.response(JobsResponse(jobs: jobs.map(JobResponse.init)))
        }
        router.get("/v1/jobs/:id") { _, context in
            let batch = try available()
            let name = context.parameters.get("id") ?? ""
            guard let id = Job.id(from: name), let job = try await batch.job(id) else {
                throw APIError.notFound("unknown_job", "job \"\(name)\" does not exist")
            }
            return try JSONCoding.response(JobResponse(job))
        }
    }

    private func available() throws -> BatchLayer {
        guard let batch else {
            throw APIError(
                .serviceUnavailable, code: "batch_unavailable",
                "this server runs without a database, so it has no batch layer; start it with --postgres-url or the managed cluster")
        }
        return batch
    }

    /// A BatchError propagates: the server's error middleware gives it its status.
    private func submit(_ batch: BatchLayer, view: String, mode: JobMode, trigger: String) async throws -> Job {
        try await batch.submit(view: view, mode: mode, trigger: trigger)
    }
}
