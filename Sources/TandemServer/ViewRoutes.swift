import Aggregation
import Catalog
import HTTPAPI
import HTTPTypes
import Hummingbird
import ServingLayer
import SpeedLayer
import TandemAPI

/// `POST /v1/views` (201, or 200 when identical), `GET /v1/views`, `GET /v1/views/{name}`,
/// `DELETE /v1/views/{name}`. Each view is answered with the speed layer's progress on it.
struct ViewRoutes: Sendable {
    let service: ViewService

    func withStatus(_ view: ViewDefinition) -> ViewResponse {
        ViewResponse(view: view, status: service.speed.status().first { $0.view == view.name }, failure: service.failures[view.name])
    }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/views") { request, _ in
            let view = try await JSONCoding.decodeBody(ViewDefinition.self, from: request)
            let created = try await service.define(view)
            return try JSONCoding.response(withStatus(view), status: created ? .created : .ok)
        }
        router.get("/v1/views") { _, _ in
            try JSONCoding.response(ViewsResponse(views: service.catalog.all.map(withStatus)))
        }
        router.get("/v1/views/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let view = service.catalog[name] else { throw APIError.notFound("unknown_view", "view \"\(name)\" does not exist") }
            return try JSONCoding.response(withStatus(view))
        }
        router.delete("/v1/views/:name") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard try await service.remove(name) else { throw APIError.notFound("unknown_view", "view \"\(name)\" does not exist") }
            return Response(status: .noContent)
        }
    }
}
