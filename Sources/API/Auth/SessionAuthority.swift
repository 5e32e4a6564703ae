/// A browser's session in place of the `auth-token` header.
///
/// A web page cannot put a token in a header of an `EventSource`, and should not keep a token in
/// script-readable storage: the dashboard's web UI signs in once and the browser then sends an
/// `HttpOnly; Secure; SameSite=Strict` cookie. ``TokenAuthenticationMiddleware`` asks a session
/// authority about that cookie only when the request has no `auth-token`, and only for reads
/// (`GET`, `HEAD`): a cookie never authorizes a change, so a forged cross-site request can change
/// nothing even where a browser ignores `SameSite`.
public protocol SessionAuthority: Sendable {
    /// The session cookie's name.
    var cookieName: String { get }
    /// The principal of a session cookie's value, or nil when it is not a valid, unexpired session.
    func principal(forSession value: String) async throws -> Principal?
}
