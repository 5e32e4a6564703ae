import Foundation
import Hummingbird
import TidemarkProtocol

/// Settings of the API.
public struct APIConfiguration: Sendable {
    /// How long a long poll (`…-events/stream`) holds a request with nothing new before answering
    /// `[]`. MetaApi holds about a minute.
    public var longPollTimeout: Duration
    /// How often a quiet Server-Sent Events stream writes a comment, so proxies keep it open and a
    /// gone client is noticed.
    public var streamKeepAliveInterval: Duration
    /// Largest request body accepted.
    public var maxBodyBytes: Int
    /// Long polls and streams one token may hold open at once (more: 429).
    public var maxOpenWaitsPerToken: Int
    /// Largest challenge or competition definition accepted (its JSON, template merged in).
    public var maxDefinitionBytes: Int
    /// How MetaApi's SDKs find the agent (``DiscoveryConfiguration``).
    public var discovery: DiscoveryConfiguration

    /// A configuration; the defaults suit production.
    public init(
        longPollTimeout: Duration = .seconds(60), streamKeepAliveInterval: Duration = .seconds(15),
        maxBodyBytes: Int = 1 << 20, maxOpenWaitsPerToken: Int = 32, maxDefinitionBytes: Int = 64 << 10,
        discovery: DiscoveryConfiguration = .init()
    ) {
        self.maxDefinitionBytes = maxDefinitionBytes
        self.discovery = discovery
        self.longPollTimeout = longPollTimeout
        self.streamKeepAliveInterval = streamKeepAliveInterval
        self.maxBodyBytes = maxBodyBytes
        self.maxOpenWaitsPerToken = maxOpenWaitsPerToken
    }
}

/// Tidemark's REST API: MetaApi's risk management routes plus Tidemark's own accounts,
/// challenges, competitions, streams, tokens and webhooks, as Hummingbird routes the agent mounts.
///
/// ```swift
/// let api = TidemarkAPI(readModel: model, control: writer, tokens: StoreTokenAuthority(store: store),
///                       webhooks: StoreWebhookRegistry(store: store), notifier: notifier, equity: broadcaster)
/// let router = Router(context: APIRequestContext.self)
/// router.get("/metrics") { … }          // the agent's own, unauthenticated routes
/// api.addRoutes(to: router)
/// let app = Application(router: router, configuration: .init(address: .hostname("0.0.0.0", port: 8080)))
/// // on graceful shutdown: api.shutdown()  (long polls answer, streams end)
/// ```
///
/// Everything under `/users/current` needs a valid `auth-token`; `/openapi.json` is public.
public struct TidemarkAPI: Sendable {
    /// Where the API reads committed and live state.
    public let readModel: any RiskReadModel
    /// Where the API sends declarations (through the agent's single writer).
    public let control: any RiskControl
    /// Checks `auth-token` headers and manages tokens.
    public let tokens: any TokenAuthority
    /// Where the admin's webhook routes register, list and delete webhooks.
    public let webhooks: any WebhookRegistry
    /// The terminals' CURVE keys and their accounts; nil when the agent runs without CURVE.
    public let terminalKeys: (any TerminalKeyAdministration)?
    /// The agent calls `published(through:)` on it after committing events.
    public let notifier: EventNotifier
    /// The agent calls `publish(_:)` on it for every equity observation.
    public let equity: EquityBroadcaster
    /// Timeouts and limits.
    public let configuration: APIConfiguration
    /// Browser sessions accepted for reads in place of `auth-token` (the dashboard's web UI); nil:
    /// tokens only, as on the agent.
    public let sessions: (any SessionAuthority)?
    let waitLimiter: WaitLimiter

    /// An API over the given read model, control, token authority and webhook registry.
    public init(
        readModel: any RiskReadModel, control: any RiskControl, tokens: any TokenAuthority,
        webhooks: any WebhookRegistry, notifier: EventNotifier, equity: EquityBroadcaster,
        configuration: APIConfiguration = .init(), terminalKeys: (any TerminalKeyAdministration)? = nil,
        sessions: (any SessionAuthority)? = nil
    ) {
        self.sessions = sessions
        self.readModel = readModel
        self.control = control
        self.tokens = tokens
        self.webhooks = webhooks
        self.terminalKeys = terminalKeys
        self.notifier = notifier
        self.equity = equity
        self.configuration = configuration
        waitLimiter = WaitLimiter(limit: configuration.maxOpenWaitsPerToken)
        // Read now, so that an agent installed without its resource bundle stops at start-up
        // (SwiftPM's accessor names both places it looked), not at the first `/openapi.json`.
        _ = Self.openAPIDocument
    }

    /// protocol/openapi.json, from the API target's resource bundle (`Tidemark_API.resources`,
    /// which SwiftPM looks for next to the executable, then in the build directory).
    public static let openAPIDocument: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { fatalError("openapi.json is missing from \(Bundle.module.bundlePath)") }
        return data
    }()

    /// A router with only the API's routes.
    public func makeRouter() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        addRoutes(to: router)
        return router
    }

    /// Adds the API's routes (and its error-body middleware, which then also covers unknown paths).
    public func addRoutes(to router: Router<APIRequestContext>) {
        router.add(middleware: ErrorBodyMiddleware())
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.openAPIDocument)))
        }
        let group = router.group("users/current").add(
            middleware: TokenAuthenticationMiddleware(authority: tokens, sessions: sessions))
        addAccountRoutes(to: group)
        addTrackerRoutes(to: group)
        addEventRoutes(to: group)
        addChallengeRoutes(to: group)
        addCompetitionRoutes(to: group)
        addStreamRoutes(to: group)
        addTokenRoutes(to: group)
        addWebhookRoutes(to: group)
        addTerminalKeyRoutes(to: group)
        addDiscoveryRoutes(to: group)
        // Last, so that it knows every route added so far; router middleware also wraps the
        // not-found answer, which is where a path served under another method becomes a 405.
        router.add(
            middleware: MethodNotAllowedMiddleware(routes: router.routes.map { ($0.method, $0.path.description) }))
    }

    /// Ends long polls (they answer `[]`) and streams; call it when graceful shutdown begins.
    public func shutdown() {
        notifier.shutdown()
        equity.shutdown()
    }

    // MARK: Helpers shared by the routes

    /// 403 unless the principal may write.
    func requireWrite(_ principal: Principal) throws {
        if principal.readOnly { throw APIError.forbidden("This token is read-only") }
    }

    /// The account of the `accountId` path parameter, or 404 when unknown or not visible to the token.
    func visibleAccount(_ context: APIRequestContext) async throws -> AccountResource {
        let principal = try context.requirePrincipal()
        let id = AccountID(try context.pathParameter("accountId"))
        guard principal.canSee(id), let account = try await readModel.account(id) else {
            throw APIError.notFound("Account \(id) not found")
        }
        return account
    }

    /// The accounts a principal's queries are limited to (nil: all).
    func allowedAccounts(_ principal: Principal) -> Set<AccountID>? {
        principal.isAdmin ? nil : principal.accounts
    }

    /// The request body as JSON (400 when it is not JSON).
    func jsonBody(_ request: Request) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: configuration.maxBodyBytes) } catch {
            throw APIError.validation(
                "Request body too large or unreadable",
                details: [ValidationDetail(parameter: "body", message: "At most \(configuration.maxBodyBytes) bytes")])
        }
        do { return try JSONValue.parse(Data(buffer.readableBytesView)) } catch {
            throw APIError.validation(
                "Request body is not JSON",
                details: [ValidationDetail(parameter: "body", message: "Expected a JSON object")])
        }
    }

    /// The request body as a JSON object (400 otherwise).
    func jsonObject(_ request: Request) async throws -> [String: JSONValue] {
        guard let object = try await jsonBody(request).objectValue else {
            throw APIError.validation(
                "Request body is not a JSON object",
                details: [ValidationDetail(parameter: "body", message: "Expected a JSON object")])
        }
        return object
    }

    /// A JSON array written from already-encoded objects, without decoding them.
    static func jsonArrayResponse(_ bodies: some Sequence<JSONBody>) -> Response {
        var buffer = ByteBuffer()
        buffer.writeStaticString("[")
        var first = true
        for body in bodies {
            if !first { buffer.writeStaticString(",") }
            first = false
            buffer.writeBytes(body.data)
        }
        buffer.writeStaticString("]")
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }

    /// A `201 {"id": …}` response.
    static func createdResponse(id: String) throws -> Response {
        try APIJSON.response(["id": id], status: .created)
    }
}
