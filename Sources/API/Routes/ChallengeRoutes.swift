import Foundation
import Hummingbird
import RiskCore
import TidemarkProtocol

extension TidemarkAPI {
    /// Tidemark's challenges: `…/accounts/{accountId}/challenges[/{challengeId}[/status]]`.
    func addChallengeRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("accounts/:accountId/challenges") { request, context in
            try requireWrite(try context.requirePrincipal())
            let account = try await visibleAccount(context)
            var body = try await jsonObject(request)
            try Self.refuseRiskCoreNames(in: body)
            // A template is a partial definition (in the rules files' names); the request's own fields override it.
            if let templateValue = body.removeValue(forKey: "template") {
                guard case .string(let name) = templateValue,
                      let template = try await readModel.challengeTemplate(named: name),
                      let templateObject = try? JSONValue.parse(template.data).objectValue
                else {
                    throw APIError.validation(details: [ValidationDetail(parameter: "template", value: templateValue.detailText,
                                                                         message: "Unknown challenge template")])
                }
                // The template's example account gives way to the path's.
                var defaults = Self.inAPINames(templateObject)
                defaults["accountId"] = nil
                body = defaults.merging(body) { _, own in own }
            }
            if let given = body["accountId"], given != .string(account.id.rawValue) {
                throw APIError.validation(details: [ValidationDetail(parameter: "accountId", value: given.detailText,
                                                                     message: "Must be the account of the path, \(account.id)")])
            }
            let id = try Self.definitionID(in: body)
            body["id"] = .string(id)
            body["accountId"] = .string(account.id.rawValue)
            var problems: [ValidationDetail] = []
            for key in ["initialCapital", "startBrokerTime", "phases"] where body[key] == nil || body[key] == .null {
                problems.append(ValidationDetail(parameter: key, message: "Required (directly or from a template)"))
            }
            if let phases = body["phases"], !(phases == .null), !Self.isNonEmptyArray(phases) {
                problems.append(ValidationDetail(parameter: "phases", value: phases.detailText, message: "Expected a non-empty array"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            let definition = try Self.decodeDefinition(ChallengeDefinitionResource.self, try boundedDefinition(body))
            if try await readModel.challenges(accountId: nil).contains(where: { $0.id == id }) {
                throw APIError.conflict("Challenge \(id) exists")
            }
            try await control.createChallenge(definition.definition)
            return try Self.createdResponse(id: id)
        }
        group.get("accounts/:accountId/challenges") { _, context in
            let account = try await visibleAccount(context)
            return try APIJSON.response(try await readModel.challenges(accountId: account.id).map(ChallengeResource.init))
        }
        group.get("accounts/:accountId/challenges/:challengeId") { _, context in
            try APIJSON.response(ChallengeResource(try await challenge(context)))
        }
        group.get("accounts/:accountId/challenges/:challengeId/status") { _, context in
            let challenge = try await challenge(context)
            guard let progress = challenge.progress else { throw APIError.notFound("Challenge \(challenge.id) has no status yet") }
            return try APIJSON.response(ChallengeProgressResource(progress))
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
            try Self.refuseRiskCoreNames(in: body)
            guard case .array(let values)? = body["accountIds"], !values.isEmpty,
                  values.allSatisfy({ $0.stringValue.map { !$0.isEmpty } ?? false })
            else {
                throw APIError.validation(details: [ValidationDetail(parameter: "accountIds", value: body["accountIds"]?.detailText,
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
            for key in ["startBrokerTime", "endBrokerTime", "metric"] where body[key] == nil || body[key] == .null {
                problems.append(ValidationDetail(parameter: key, message: "Required"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            let id = try Self.definitionID(in: body)
            body["id"] = .string(id)
            let definition = try Self.decodeDefinition(CompetitionDefinitionResource.self, try boundedDefinition(body))
            if try await readModel.competitions().contains(where: { $0.id == id }) {
                throw APIError.conflict("Competition \(id) exists")
            }
            try await control.createCompetition(definition.definition)
            return try Self.createdResponse(id: id)
        }
        group.get("competitions") { _, context in
            let principal = try context.requirePrincipal()
            let visible = try await readModel.competitions().filter { principal.canSeeAll($0.accountIds) }
            return try APIJSON.response(visible.map(CompetitionResource.init))
        }
        group.get("competitions/:competitionId") { _, context in
            try APIJSON.response(CompetitionResource(try await competition(context)))
        }
        group.get("competitions/:competitionId/leaderboard") { _, context in
            let competition = try await competition(context)
            return try APIJSON.response((competition.leaderboard ?? []).map(LeaderboardEntryResource.init))
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
              principal.canSeeAll(competition.accountIds)
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

    /// The rules files' names for what the API calls `accountId`, `accountIds`, `startBrokerTime`
    /// and `endBrokerTime` (deploy/challenge-templates are written in them).
    static let riskCoreNames = ["account": "accountId", "accounts": "accountIds", "startTime": "startBrokerTime",
                                "endTime": "endBrokerTime"]

    /// A request in the rules files' names gets a 400 that says the API's name.
    static func refuseRiskCoreNames(in body: [String: JSONValue]) throws {
        let problems = riskCoreNames.keys.sorted().filter { body[$0] != nil }.map {
            ValidationDetail(parameter: $0, value: body[$0]?.detailText, message: "Unknown field: the API calls it \(riskCoreNames[$0]!)")
        }
        if !problems.isEmpty { throw APIError.validation(details: problems) }
    }

    /// A template (written in the rules files' names) in the API's names.
    static func inAPINames(_ object: [String: JSONValue]) -> [String: JSONValue] {
        var renamed: [String: JSONValue] = [:]
        for (key, value) in object { renamed[riskCoreNames[key] ?? key] = value }
        return renamed
    }

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

    /// Decodes a definition with the API's coding (exact amounts, broker times as strings); a
    /// refusal names the field and what it should be, in plain words (not the decoder's own
    /// description of its internals).
    static func decodeDefinition<T: Decodable>(_ type: T.Type, _ body: JSONBody) throws -> T {
        do { return try APIJSON.decoder.decode(type, from: body.data) } catch let error as DecodingError {
            func path(_ keys: [any CodingKey]) -> String {
                let text = keys.reduce(into: "") { text, key in
                    if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
                }
                return text.isEmpty ? "body" : text
            }
            let detail: ValidationDetail
            switch error {
            case .keyNotFound(let key, let context):
                detail = ValidationDetail(parameter: path(context.codingPath + [key]), message: "Required")
            case .valueNotFound(_, let context):
                detail = ValidationDetail(parameter: path(context.codingPath), message: "Required")
            case .typeMismatch(let expected, let context):
                let typeName = "\(expected)"
                let name = typeName == "String" ? "a string" : typeName == "Bool" ? "true or false"
                    : ["Int", "Int64", "Int32", "Double", "Decimal", "UInt64"].contains(typeName) ? "a number"
                    : typeName.hasPrefix("Array") ? "an array" : typeName.hasPrefix("Dictionary") ? "an object" : "a valid value"
                detail = ValidationDetail(parameter: path(context.codingPath), message: "Expected \(name)")
            case .dataCorrupted(let context):
                detail = ValidationDetail(parameter: path(context.codingPath), message: context.debugDescription)
            @unknown default:
                detail = ValidationDetail(parameter: "body", message: "Invalid definition")
            }
            throw APIError.validation("Invalid definition", details: [detail])
        } catch {
            throw APIError.validation("Invalid definition", details: [ValidationDetail(parameter: "body", message: "Invalid definition")])
        }
    }
}
