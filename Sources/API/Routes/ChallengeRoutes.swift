import Foundation
import Hummingbird
import TidemarkProtocol

/// A challenge as the API shows it: its definition and its live progress.
struct ChallengeView: Encodable {
    let id: String
    let accountId: AccountID
    let definition: JSONValue
    let progress: JSONValue?
}

/// A competition as the API shows it.
struct CompetitionView: Encodable {
    let id: String
    let accounts: [AccountID]
    let definition: JSONValue
}

extension TidemarkAPI {
    /// Tidemark's challenges: `…/accounts/{accountId}/challenges[/{challengeId}[/status]]`.
    func addChallengeRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("accounts/:accountId/challenges") { request, context in
            try requireWrite(try context.requirePrincipal())
            let account = try await visibleAccount(context)
            var body = try await jsonObject(request)
            // A template is a partial definition; the request's own fields override it.
            if let templateValue = body.removeValue(forKey: "template") {
                guard case .string(let name) = templateValue,
                      let template = try await readModel.challengeTemplate(named: name),
                      let templateObject = try? JSONValue.parse(template.data).objectValue
                else {
                    throw APIError.validation(details: [ValidationDetail(parameter: "template", value: templateValue.detailText,
                                                                         message: "Unknown challenge template")])
                }
                body = templateObject.merging(body) { _, own in own }
            }
            let id = try Self.definitionID(in: body)
            body["id"] = .string(id)
            body["account"] = .string(account.id.rawValue)
            var problems: [ValidationDetail] = []
            for key in ["initialCapital", "startTime", "phases"] where body[key] == nil || body[key] == .null {
                problems.append(ValidationDetail(parameter: key, message: "Required (directly or from a template)"))
            }
            if let phases = body["phases"], !(phases == .null), !Self.isNonEmptyArray(phases) {
                problems.append(ValidationDetail(parameter: "phases", value: phases.detailText, message: "Expected a non-empty array"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            if try await readModel.challenges(accountId: nil).contains(where: { $0.id == id }) {
                throw APIError.conflict("Challenge \(id) exists")
            }
            try await control.createChallenge(id: id, accountId: account.id, definition: try boundedDefinition(body))
            return try Self.createdResponse(id: id)
        }
        group.get("accounts/:accountId/challenges") { _, context in
            let account = try await visibleAccount(context)
            let views = try await readModel.challenges(accountId: account.id).map(Self.view)
            return try APIJSON.response(views)
        }
        group.get("accounts/:accountId/challenges/:challengeId") { _, context in
            try APIJSON.response(Self.view(try await challenge(context)))
        }
        group.get("accounts/:accountId/challenges/:challengeId/status") { _, context in
            let challenge = try await challenge(context)
            guard let progress = challenge.progress else { throw APIError.notFound("Challenge \(challenge.id) has no status yet") }
            return Self.jsonResponse(progress)
        }
        group.delete("accounts/:accountId/challenges/:challengeId") { _, context in
            try requireWrite(try context.requirePrincipal())
            let challenge = try await challenge(context)
            try await control.deleteChallenge(accountId: challenge.accountId, id: challenge.id)
            return Response(status: .noContent)
        }
    }

    /// Tidemark's competitions: `/users/current/competitions[/{competitionId}[/leaderboard]]`.
    func addCompetitionRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("competitions") { request, context in
            let principal = try context.requirePrincipal()
            try requireWrite(principal)
            var body = try await jsonObject(request)
            guard case .array(let values)? = body["accounts"], !values.isEmpty,
                  values.allSatisfy({ $0.stringValue.map { !$0.isEmpty } ?? false })
            else {
                throw APIError.validation(details: [ValidationDetail(parameter: "accounts", value: body["accounts"]?.detailText,
                                                                     message: "Required: a non-empty array of account ids")])
            }
            let accounts = values.compactMap(\.stringValue).map(AccountID.init)
            for account in accounts where !principal.canSee(account) {
                throw APIError.notFound("Account \(account) not found")
            }
            for account in accounts where try await readModel.account(account) == nil {
                throw APIError.notFound("Account \(account) not found")
            }
            var problems: [ValidationDetail] = []
            for key in ["startTime", "endTime", "metric"] where body[key] == nil || body[key] == .null {
                problems.append(ValidationDetail(parameter: key, message: "Required"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            let id = try Self.definitionID(in: body)
            body["id"] = .string(id)
            if try await readModel.competitions().contains(where: { $0.id == id }) {
                throw APIError.conflict("Competition \(id) exists")
            }
            try await control.createCompetition(id: id, accounts: accounts, definition: try boundedDefinition(body))
            return try Self.createdResponse(id: id)
        }
        group.get("competitions") { _, context in
            let principal = try context.requirePrincipal()
            let views = try await readModel.competitions().filter { principal.canSeeAll($0.accounts) }.map(Self.view)
            return try APIJSON.response(views)
        }
        group.get("competitions/:competitionId") { _, context in
            try APIJSON.response(Self.view(try await competition(context)))
        }
        group.get("competitions/:competitionId/leaderboard") { _, context in
            let competition = try await competition(context)
            return competition.leaderboard.map(Self.jsonResponse) ?? Self.jsonArrayResponse([])
        }
        group.delete("competitions/:competitionId") { _, context in
            try requireWrite(try context.requirePrincipal())
            let competition = try await competition(context)
            try await control.deleteCompetition(id: competition.id)
            return Response(status: .noContent)
        }
    }

    /// The challenge of the path parameters, or 404.
    func challenge(_ context: APIRequestContext) async throws -> ChallengeRecord {
        let account = try await visibleAccount(context)
        let id = try context.pathParameter("challengeId")
        guard let challenge = try await readModel.challenges(accountId: account.id).first(where: { $0.id == id }) else {
            throw APIError.notFound("Challenge \(id) not found on account \(account.id)")
        }
        return challenge
    }

    /// The competition of the path parameter, or 404 (also when the token cannot see all its accounts).
    func competition(_ context: APIRequestContext) async throws -> CompetitionRecord {
        let principal = try context.requirePrincipal()
        let id = try context.pathParameter("competitionId")
        guard let competition = try await readModel.competitions().first(where: { $0.id == id }),
              principal.canSeeAll(competition.accounts)
        else { throw APIError.notFound("Competition \(id) not found") }
        return competition
    }

    /// The body's `id` when given (a non-empty string), else a new random one.
    static func definitionID(in body: [String: JSONValue]) throws -> String {
        switch body["id"] {
        case nil, .null?: return TokenSecret.generateID()
        case .string(let id)? where !id.isEmpty && !id.contains("/"): return id
        case let value?:
            throw APIError.validation(details: [ValidationDetail(parameter: "id", value: value.detailText,
                                                                 message: "Expected a non-empty string without '/'")])
        }
    }

    static func isNonEmptyArray(_ value: JSONValue) -> Bool {
        if case .array(let items) = value { !items.isEmpty } else { false }
    }

    static func view(_ challenge: ChallengeRecord) throws -> ChallengeView {
        ChallengeView(id: challenge.id, accountId: challenge.accountId,
                      definition: try JSONValue.parse(challenge.definition.data),
                      progress: try challenge.progress.map { try JSONValue.parse($0.data) })
    }

    static func view(_ competition: CompetitionRecord) throws -> CompetitionView {
        CompetitionView(id: competition.id, accounts: competition.accounts,
                        definition: try JSONValue.parse(competition.definition.data))
    }

    /// A 200 response whose body is an already-encoded JSON document.
    /// A challenge or competition definition as JSON, refused (400) above
    /// ``APIConfiguration/maxDefinitionBytes``: every definition lives in the risk state, which each
    /// checkpoint writes whole.
    func boundedDefinition(_ body: [String: JSONValue]) throws -> JSONBody {
        let definition = try JSONBody(encoding: JSONValue.object(body))
        guard definition.data.count <= configuration.maxDefinitionBytes else {
            throw APIError.validation("Definition too large", details: [
                ValidationDetail(parameter: "body", message: "At most \(configuration.maxDefinitionBytes) bytes, got \(definition.data.count)"),
            ])
        }
        return definition
    }

    static func jsonResponse(_ body: JSONBody) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.data)))
    }
}
