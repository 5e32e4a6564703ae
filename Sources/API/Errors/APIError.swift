import Foundation
import Hummingbird
import NIOCore
import TidemarkProtocol

/// One bad field of a request: MetaApi's validation detail (`{"parameter", "value"?, "message"}`).
public struct ValidationDetail: Hashable, Sendable, Codable {
    /// The query parameter, path parameter or body field at fault (dotted for nested body fields).
    public var parameter: String
    /// The value received, as text, when there was one.
    public var value: String?
    /// What is wrong with it.
    public var message: String

    /// A problem with `parameter` (and the value given, when useful).
    public init(parameter: String, value: String? = nil, message: String) {
        self.parameter = parameter
        self.value = value
        self.message = message
    }
}

/// An error the API answers with: MetaApi's error body
/// `{"id": <int>, "error": "<Name>Error", "message": "…", "details": […]}`.
///
/// Cases are static members over a private code (new ones can be added without breaking callers);
/// ``description`` is the short error name, fit for a metric label. `id` is the HTTP status code,
/// so a client can branch on the body alone.
public struct APIError: TidemarkError, HTTPResponseError {
    private enum Code: String, Sendable {
        case validation = "ValidationError"
        case unauthorized = "UnauthorizedError"
        case forbidden = "ForbiddenError"
        case notFound = "NotFoundError"
        case methodNotAllowed = "MethodNotAllowedError"
        case conflict = "ConflictError"
        case tooManyRequests = "TooManyRequestsError"
        case `internal` = "InternalError"
        case unavailable = "ServiceUnavailableError"

        var status: HTTPResponse.Status {
            switch self {
            case .validation: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .conflict: .conflict
            case .tooManyRequests: .tooManyRequests
            case .internal: .internalServerError
            case .unavailable: .serviceUnavailable
            }
        }
    }

    private let codeValue: Code
    /// Human-readable explanation.
    public let message: String
    /// The bad fields of a ``validation(_:details:)`` error; empty otherwise.
    public let details: [ValidationDetail]
    /// Seconds a client should wait before retrying (429 and 503).
    public let retryAfterSeconds: Int?
    /// The methods the path is served under (405 only): the `Allow` header.
    public let allowedMethods: [String]

    private init(
        _ code: Code, _ message: String, details: [ValidationDetail] = [], retryAfterSeconds: Int? = nil,
        allowedMethods: [String] = []
    ) {
        self.codeValue = code
        self.message = message
        self.details = details
        self.retryAfterSeconds = retryAfterSeconds
        self.allowedMethods = allowedMethods
    }

    /// 400: the request's parameters or body are invalid; `details` lists every bad field.
    public static func validation(_ message: String = "Validation failed", details: [ValidationDetail]) -> APIError {
        APIError(.validation, message, details: details)
    }
    /// 401: no `auth-token` header, or not a valid token.
    public static func unauthorized(_ message: String = "Authorization failed") -> APIError {
        APIError(.unauthorized, message)
    }
    /// 403: the token may not do this (a read-only token writing, a non-admin managing tokens).
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
    /// 403 for a server that serves reads only: every write is refused, with `message` saying where
    /// to send it (e.g. "This server is read-only; declare trackers on the account's agent").
    public static func readOnlyServer(_ message: String) -> APIError { APIError(.forbidden, message) }
    /// 404: no such resource, or one outside the token's accounts (so ids don't leak).
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    /// 405: the path exists, but not under this method; `allowed` lists the methods it has.
    public static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        APIError(
            .methodNotAllowed, "Method \(method) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
            allowedMethods: allowed)
    }
    /// 409: the resource exists already, or its state forbids the change.
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    /// 429: too many requests; retry after the given delay.
    public static func tooManyRequests(_ message: String, retryAfterSeconds: Int) -> APIError {
        APIError(.tooManyRequests, message, retryAfterSeconds: retryAfterSeconds)
    }
    /// 500: something failed inside the agent. The message must not leak internals.
    public static func `internal`(_ message: String = "Internal error") -> APIError { APIError(.internal, message) }
    /// 503: the agent is shutting down or not ready.
    public static func unavailable(_ message: String, retryAfterSeconds: Int? = nil) -> APIError {
        APIError(.unavailable, message, retryAfterSeconds: retryAfterSeconds)
    }

    /// The HTTP status of the response.
    public var status: HTTPResponse.Status { codeValue.status }
    /// The error's name in the body (`ValidationError`, `NotFoundError`, …).
    public var code: String { codeValue.rawValue }
    /// The ``message``.
    public var detail: String { message }
    /// The ``code`` alone.
    public var description: String { code }
    /// The body's `id`: the HTTP status code.
    public var id: Int { status.code }

    private struct Body: Encodable {
        let id: Int
        let error: String
        let message: String
        let details: [ValidationDetail]?
        let metadata: RetryMetadata?
    }

    /// MetaApi's `TooManyRequestsError` metadata: when to retry, as an ISO 8601 UTC instant
    /// (https://metaapi.cloud/docs/risk-management/rateLimiting/; the SDKs sleep until it).
    private struct RetryMetadata: Encodable {
        let recommendedRetryTime: String
    }

    /// The JSON body, alone (also written into SSE `error` frames). A 429's body carries
    /// `metadata.recommendedRetryTime`: `now` plus ``retryAfterSeconds``.
    public func jsonBody(now: Date = Date()) -> ByteBuffer {
        var metadata: RetryMetadata?
        if codeValue == .tooManyRequests, let retryAfterSeconds {
            let instant = now.addingTimeInterval(TimeInterval(retryAfterSeconds))
            metadata = RetryMetadata(
                recommendedRetryTime: Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(instant))
        }
        let body = Body(
            id: id, error: code, message: message, details: details.isEmpty ? nil : details, metadata: metadata)
        guard let data = try? APIJSON.encoder.encode(body) else {
            return ByteBuffer(string: #"{"id":500,"error":"InternalError","message":"encoding failed"}"#)
        }
        return ByteBuffer(bytes: data)
    }

    /// The JSON error body MetaApi clients expect, with this error's status.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if !allowedMethods.isEmpty { headers[.allow] = allowedMethods.joined(separator: ", ") }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: jsonBody()))
    }
}
