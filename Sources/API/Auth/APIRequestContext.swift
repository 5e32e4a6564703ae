import Hummingbird

/// The request context of every API route: Hummingbird's core context plus the authenticated
/// principal. The agent builds its router with this context (see ``TidemarkAPI``).
public struct APIRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// Set by ``TokenAuthenticationMiddleware`` before any `/users/current` route runs.
    public var principal: Principal?

    /// A context for a new request, not yet authenticated.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
    }

    /// The principal, or 401 (routes under the middleware always have one).
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthorized() }
        return principal
    }
}

/// `HTTPField` itself is not re-exported by Hummingbird; reach it as the element of `HTTPFields`.
typealias HeaderName = HTTPFields.Element.Name

extension HTTPFields.Element.Name {
    /// MetaApi's authentication header.
    static let authToken = HeaderName("auth-token")!
    /// Server-Sent Events resume point.
    static let lastEventID = HeaderName("Last-Event-ID")!
}

/// Answers 401 unless the request carries a valid `auth-token` (or, for a read, a valid session
/// cookie when a ``SessionAuthority`` is given), then records the principal.
public struct TokenAuthenticationMiddleware: RouterMiddleware {
    /// The request context the middleware works on.
    public typealias Context = APIRequestContext
    let authority: any TokenAuthority
    let sessions: (any SessionAuthority)?

    /// A middleware that checks tokens against `authority`, and session cookies of reads against
    /// `sessions` (nil: tokens only).
    public init(authority: any TokenAuthority, sessions: (any SessionAuthority)? = nil) {
        self.authority = authority
        self.sessions = sessions
    }

    /// Authenticates the request's `auth-token`, or its session cookie (401 when missing or
    /// unknown), then passes it on.
    public func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let secret = request.headers[.authToken], !secret.isEmpty else {
            if let sessions, request.method == .get || request.method == .head,
                let cookie = request.cookies[sessions.cookieName], !cookie.value.isEmpty
            {
                return try await next(request, try await authenticate(session: cookie.value, with: sessions, context))
            }
            throw APIError.unauthorized("Missing auth-token header")
        }
        let principal: Principal?
        do { principal = try await authority.principal(forSecret: secret) } catch {
            context.logger.error("token lookup failed", metadata: ["error": "\(error)"])
            throw APIError.internal()
        }
        guard let principal else { throw APIError.unauthorized("Invalid auth-token") }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "token"] = .string(principal.tokenID)
        return try await next(request, context)
    }

    private func authenticate(
        session: String, with sessions: any SessionAuthority, _ context: Context
    ) async throws -> Context {
        let principal: Principal?
        do { principal = try await sessions.principal(forSession: session) } catch {
            context.logger.error("session lookup failed", metadata: ["error": "\(error)"])
            throw APIError.internal()
        }
        guard let principal else { throw APIError.unauthorized("Invalid or expired session") }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "token"] = .string(principal.tokenID)
        return context
    }
}

/// Turns any error that is not already an ``APIError`` into MetaApi's error body, so no route ever
/// answers with Hummingbird's own error shape. Hummingbird's `HTTPError`s keep their status.
struct ErrorBodyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: throw APIError.notFound(error.body ?? "Not found")
            case .unauthorized: throw APIError.unauthorized(error.body ?? "Authorization failed")
            case .forbidden: throw APIError.forbidden(error.body ?? "Forbidden")
            case .conflict: throw APIError.conflict(error.body ?? "Conflict")
            case .tooManyRequests:
                throw APIError.tooManyRequests(error.body ?? "Too many requests", retryAfterSeconds: 1)
            case .methodNotAllowed: throw APIError.methodNotAllowed(request.method.rawValue, allowed: [])
            case .badRequest, .contentTooLarge, .unsupportedMediaType:
                throw APIError.validation(error.body ?? "Bad request", details: [])
            default:
                throw APIError.internal(error.body ?? "Internal error")
            }
        } catch is CancellationError {
            throw APIError.unavailable("Request cancelled")
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw APIError.internal()
        }
    }
}
