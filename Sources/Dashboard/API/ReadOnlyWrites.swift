import API
import Hummingbird
import RiskCore
import TidemarkProtocol

// The dashboard holds copies of what agents declared and computed: a declaration made here would
// never reach the agent whose single writer folds it. Every write is refused with where to make it.

/// The API's ``RiskControl`` of the dashboard: every call is refused (403) naming the owning agent.
struct ReadOnlyControl: RiskControl {
    static let message =
        "The dashboard is read-only: declare accounts, trackers, challenges and competitions on the agent that owns the account (GET /agents lists them)"

    func registerAccount(_ registration: AccountRegistration) async throws -> AccountResource {
        throw APIError.readOnlyServer(Self.message)
    }
    func createTracker(_ tracker: TrackerResource) async throws { throw APIError.readOnlyServer(Self.message) }
    func renameTracker(accountId: AccountID, trackerId: String, name: String) async throws {
        throw APIError.readOnlyServer(Self.message)
    }
    func deleteTracker(accountId: AccountID, trackerId: String) async throws {
        throw APIError.readOnlyServer(Self.message)
    }
    func createChallenge(_ definition: ChallengeDefinition) async throws { throw APIError.readOnlyServer(Self.message) }
    func deleteChallenge(accountId: AccountID, id: String) async throws { throw APIError.readOnlyServer(Self.message) }
    func createCompetition(_ definition: CompetitionDefinition) async throws {
        throw APIError.readOnlyServer(Self.message)
    }
    func deleteCompetition(id: String) async throws { throw APIError.readOnlyServer(Self.message) }
}

/// Webhooks are delivered by each agent from its own store: the dashboard lists none and registers none.
struct ReadOnlyWebhooks: WebhookRegistry {
    static let message =
        "The dashboard delivers no webhooks: register them on each agent (POST /users/current/webhooks there)"

    func createWebhook(url: String, secret: String, filter: WebhookEventFilter) async throws -> WebhookResource {
        throw APIError.readOnlyServer(Self.message)
    }
    func webhooks() async throws -> [WebhookResource] { [] }
    func deleteWebhook(id: String) async throws -> Bool { throw APIError.readOnlyServer(Self.message) }
}

/// Refuses a write under `/users/current` before any validation, so that the answer is the
/// read-only refusal whatever the body: every method but GET/HEAD, except token management
/// (the dashboard's own tokens are made here).
struct ReadOnlyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        let isWrite = request.method != .get && request.method != .head
        if isWrite, path.hasPrefix("/users/current/"), !path.hasPrefix("/users/current/tokens") {
            throw path.hasPrefix("/users/current/webhooks")
                ? APIError.readOnlyServer(ReadOnlyWebhooks.message) : APIError.readOnlyServer(ReadOnlyControl.message)
        }
        return try await next(request, context)
    }
}
