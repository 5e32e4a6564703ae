import Hummingbird

/// Turns the router's 404 for a path that *is* served, under other methods, into a 405 with an
/// `Allow` header (RFC 9110 §15.5.6): `DELETE /users/current/accounts` is a wrong method, not a
/// missing resource. Hummingbird's router answers both with 404, so the known routes are kept
/// here as segment patterns and matched only on that path's way out.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    private struct Route {
        let method: String
        /// Path segments; nil stands for a capture or wildcard (`{accountId}`, `*`).
        let segments: [String?]
        /// Whether the pattern ends in `**` (any further segments).
        let recursive: Bool
    }

    private let routes: [Route]

    /// - Parameter routes: every route's method and path as the router describes it
    ///   (`/users/current/accounts/{accountId}`).
    init(routes: [(method: HTTPRequest.Method, path: String)]) {
        self.routes = routes.map { method, path in
            var parts = path.split(separator: "/").map(String.init)
            let recursive = parts.last == "**"
            if recursive { parts.removeLast() }
            return Route(method: method.rawValue,
                         segments: parts.map { $0.contains("{") || $0.contains("*") ? nil : $0 },
                         recursive: recursive)
        }
    }

    /// The methods under which `path` is served.
    func allowedMethods(path: String) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        var methods: [String] = []
        for route in routes where !methods.contains(route.method) {
            guard route.recursive ? segments.count >= route.segments.count : segments.count == route.segments.count else { continue }
            if zip(route.segments, segments).allSatisfy({ pattern, segment in pattern == nil ? !segment.isEmpty : pattern == segment }) {
                methods.append(route.method)
            }
        }
        return methods.sorted()
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = allowedMethods(path: request.uri.path)
            if allowed.isEmpty || allowed.contains(request.method.rawValue) { throw error }
            throw APIError.methodNotAllowed(request.method.rawValue, allowed: allowed)
        }
    }
}
