import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The web dashboard on the dashboard's HTTPS port: the pages (every asset from the binary), the
/// login that turns a token into a session cookie, the JSON the pages read and one live stream.
///
/// | route | what |
/// |---|---|
/// | `GET /` | the app (redirects to `/login` without a session) |
/// | `GET /login`, `POST /login`, `POST /logout` | token in, `HttpOnly; Secure; SameSite=Strict` cookie out |
/// | `GET /ui/assets/NAME` | `app.js`, `app.css` |
/// | `GET /ui/api/session` | who is logged in |
/// | `GET /ui/api/accounts`, `/ui/api/accounts/ID` | the overview rows; one account's page |
/// | `GET /ui/api/alerts` | breaches across every visible account, newest first |
/// | `GET /ui/api/competitions`, `/ui/api/agents` | leaderboards; the agents (admin only) |
/// | `GET /ui/stream` | Server-Sent Events: `accounts`, `events`, `reload` |
///
/// Every `/ui/api` answer is limited to the accounts the session's token may see; another
/// account answers 404, as the API does.
struct UIRoutes: Sendable {
    let reads: UIReads
    let tokens: DashboardTokens
    let sessions: UISessions
    let hub: LiveHub
    let agents: @Sendable () async throws -> [AgentRecord]
    let logger: Logger
    /// How often an idle stream writes a comment, so proxies keep it open.
    var keepAliveInterval: Duration = .seconds(15)

    func add<Context: RequestContext>(to router: Router<Context>) {
        // Read now, so that a dashboard installed without its resource bundle stops at start-up
        // (SwiftPM's accessor names where it looked), not at the first page.
        _ = UIAssets.files
        router.get("") { request, _ -> Response in
            guard try await principal(request) != nil else { return Self.redirect("/login") }
            return Self.asset("app.html")
        }
        router.get("login") { _, _ in Self.asset("login.html") }
        router.post("login") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 10)
            let token = Self.formValue("token", in: String(buffer: body)) ?? ""
            guard !token.isEmpty, let principal = try await tokens.principal(forSecret: token) else {
                logger.notice("dashboard login refused: unknown token")
                return Self.redirect("/login?failed=1")
            }
            var response = Self.redirect("/")
            response.setCookie(
                Cookie(
                    name: UISessions.cookieName, value: sessions.issue(tokenId: principal.tokenId, now: Date()),
                    maxAge: Int(sessions.lifetime.components.seconds), path: "/", secure: true, httpOnly: true,
                    sameSite: .strict))
            return response
        }
        router.post("logout") { _, _ -> Response in
            var response = Self.redirect("/login")
            response.setCookie(
                Cookie(
                    name: UISessions.cookieName, value: "", maxAge: 0, path: "/", secure: true, httpOnly: true,
                    sameSite: .strict))
            return response
        }
        router.get("ui/assets/:name") { _, context -> Response in
            let name = context.parameters.get("name") ?? ""
            guard ["app.js", "app.css"].contains(name) else { return Self.text(.notFound, "not found\n") }
            return Self.asset(name)
        }
        router.get("ui/api/session") { request, _ -> Response in
            let principal = try await requirePrincipal(request)
            return try Self.json(["tokenId": principal.tokenId, "admin": principal.isAdmin ? "true" : "false"])
        }
        router.get("ui/api/accounts") { request, _ -> Response in
            let principal = try await requirePrincipal(request)
            return try Self.json(try await reads.accounts(nil, visible: principal.accounts))
        }
        router.get("ui/api/accounts/:id") { request, context -> Response in
            let principal = try await requirePrincipal(request)
            // The router leaves percent-escapes in parameters (the page escapes the ':' of server:login).
            let id = (context.parameters.get("id") ?? "").removingPercentEncoding ?? ""
            guard let account = try await reads.accounts([id], visible: principal.accounts).first,
                let detail = try await reads.accountDetail(id, visible: principal.accounts)
            else { return Self.text(.notFound, "no such account\n") }
            let events = try await reads.events(
                account: id, breachesOnly: false, visible: principal.accounts, limit: 500)
            let encoder = Self.encoder
            let head = String(decoding: try encoder.encode(account), as: UTF8.self)
            let list = String(decoding: try encoder.encode(events), as: UTF8.self)
            return Self.rawJSON("{\"account\":\(head),\"events\":\(list),\"detail\":\(detail)}")
        }
        router.get("ui/api/alerts") { request, _ -> Response in
            let principal = try await requirePrincipal(request)
            return try Self.json(
                try await reads.events(account: nil, breachesOnly: true, visible: principal.accounts, limit: 200))
        }
        router.get("ui/api/competitions") { request, _ -> Response in
            let principal = try await requirePrincipal(request)
            return Self.rawJSON(try await reads.competitions(visible: principal.accounts))
        }
        router.get("ui/api/agents") { request, _ -> Response in
            let principal = try await requirePrincipal(request)
            guard principal.isAdmin else { return Self.text(.forbidden, "the agents are for the admin token\n") }
            return try Self.json(try await agents())
        }
        router.get("ui/stream") { request, _ -> Response in
            let principal = try await requirePrincipal(request)
            return stream(for: principal)
        }
    }

    // MARK: The live stream

    private enum StreamItem: Sendable {
        case update(LiveUpdate)
        case keepAlive
    }

    /// Every update this principal may see, as Server-Sent Events, until the client leaves or the
    /// hub ends the subscription (the page's EventSource reconnects and reloads).
    private func stream(for principal: UIPrincipal) -> Response {
        let updates = hub.subscribe()
        let interval = keepAliveInterval
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                let (items, continuation) = AsyncStream.makeStream(of: StreamItem.self)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await update in updates { continuation.yield(.update(update)) }
                        continuation.finish()
                    }
                    group.addTask {
                        while !Task.isCancelled {
                            try await Task.sleep(for: interval)
                            continuation.yield(.keepAlive)
                        }
                    }
                    try await writer.write(ByteBuffer(string: "retry: 1000\n: connected\n\n"))
                    // A shutting-down server ends its streams, so its graceful shutdown need not wait for them.
                    group.addTask {
                        try await gracefulShutdown()
                        continuation.finish()
                    }
                    for await item in items {
                        switch item {
                        case .keepAlive:
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        case .update(let update):
                            for frame in try Self.frames(update, for: principal) {
                                try await writer.write(ByteBuffer(string: frame))
                            }
                        }
                    }
                    group.cancelAll()
                }
                try await writer.finish(nil)
            })
    }

    /// The frames of one update, limited to what the principal may see.
    static func frames(_ update: LiveUpdate, for principal: UIPrincipal) throws -> [String] {
        if update.change.everything { return ["event: reload\ndata: {}\n\n"] }
        let visible = principal.accounts
        let accounts = update.accounts.filter { visible?.contains($0.accountId) ?? true }
        let events = update.events.filter { event in
            guard let visible else { return true }
            return event.accountId.map(visible.contains) ?? false
        }
        var frames: [String] = []
        if !accounts.isEmpty {
            frames.append("event: accounts\ndata: \(String(decoding: try encoder.encode(accounts), as: UTF8.self))\n\n")
        }
        if !events.isEmpty {
            frames.append("event: events\ndata: \(String(decoding: try encoder.encode(events), as: UTF8.self))\n\n")
        }
        return frames
    }

    // MARK: Sessions

    /// The principal of the request's session cookie; nil without a valid one.
    func principal(_ request: Request) async throws -> UIPrincipal? {
        guard let cookie = request.cookies[UISessions.cookieName],
            let tokenId = sessions.tokenId(fromCookie: cookie.value, now: Date())
        else { return nil }
        return try await tokens.principal(forId: tokenId)
    }

    private func requirePrincipal(_ request: Request) async throws -> UIPrincipal {
        guard let principal = try await principal(request) else {
            throw HTTPError(.unauthorized, message: "log in first (POST /login with a token)")
        }
        return principal
    }

    // MARK: Responses

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func json(_ value: some Encodable) throws -> Response {
        rawJSON(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func rawJSON(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// A value of an `application/x-www-form-urlencoded` body (`+` is a space).
    static func formValue(_ name: String, in body: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }

    /// A file of `UI/Assets`, from the binary's resource bundle. A strict content security policy:
    /// nothing but this origin's own scripts, styles and images.
    static func asset(_ name: String) -> Response {
        guard let text = UIAssets.text(name) else { return text(.notFound, "not found\n") }
        let type =
            switch name.split(separator: ".").last {
            case "js": "text/javascript; charset=utf-8"
            case "css": "text/css; charset=utf-8"
            default: "text/html; charset=utf-8"
            }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache",
                .contentSecurityPolicy:
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The UI's files, bundled as SwiftPM resources (`Sources/Dashboard/UI/Assets`, flattened into
/// `Tidemark_Dashboard.resources` beside the executable), read once.
enum UIAssets {
    /// Every file of the bundle by name.
    static let files: [String: String] = {
        guard let directory = Bundle.module.resourceURL,
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { fatalError("the dashboard's web pages are missing from \(Bundle.module.bundlePath)") }
        var files: [String: String] = [:]
        for name in names {
            files[name] = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return files
    }()

    static func text(_ name: String) -> String? { files[name] }
}
