import Hummingbird
import TidemarkProtocol

extension TidemarkAPI {
    /// The page size of `GET /users/current/accounts` when `limit` is absent, and its largest value.
    static let accountPageLimit = 1_000

    /// `POST/GET /users/current/accounts`, `GET /users/current/accounts/{accountId}`.
    func addAccountRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("accounts") { request, context in
            let principal = try context.requirePrincipal()
            try requireWrite(principal)
            // A token limited to some accounts cannot add others (it could never see them).
            guard principal.isAdmin || principal.accounts == nil else {
                throw APIError.forbidden("A token limited to accounts cannot register accounts")
            }
            let registration = try Self.accountRegistration(from: try await jsonObject(request))
            if try await readModel.account(registration.accountId) != nil {
                throw APIError.conflict("Account \(registration.accountId) is already registered")
            }
            let account = try await control.registerAccount(registration)
            return try Self.createdResponse(id: account.id.rawValue)
        }
        group.get("accounts") { request, context in
            let principal = try context.requirePrincipal()
            var query = QueryReader(request)
            let limit = query.integer("limit", in: 1...Self.accountPageLimit, default: Self.accountPageLimit)
            let offset = query.integer("offset", in: 0...Int(Int32.max), default: 0)
            try query.validate()
            return try APIJSON.response(try await readModel.accounts(allowed: allowedAccounts(principal), limit: limit, offset: offset))
        }
        group.get("accounts/:accountId") { _, context in
            try APIJSON.response(try await visibleAccount(context))
        }
    }

    /// Validates `{"login", "server", "platform"}`, naming every bad field.
    static func accountRegistration(from body: [String: JSONValue]) throws -> AccountRegistration {
        var problems: [ValidationDetail] = []
        var login: Int64?
        switch body["login"] {
        case .number(let value) where Int64(value.description).map({ $0 >= 1 }) ?? false:
            login = Int64(value.description)
        case .string(let text) where Int64(text).map({ $0 >= 1 }) ?? false:
            login = Int64(text)
        case nil:
            problems.append(ValidationDetail(parameter: "login", message: "Required"))
        case let value?:
            problems.append(ValidationDetail(parameter: "login", value: value.detailText, message: "Expected a positive integer"))
        }
        var server: String?
        switch body["server"] {
        case .string(let text) where AccountID.problem(withServerName: text) == nil:
            server = text
        case nil:
            problems.append(ValidationDetail(parameter: "server", message: "Required"))
        case let value?:
            let problem = value.stringValue.flatMap { AccountID.problem(withServerName: $0) } ?? "not a string"
            problems.append(ValidationDetail(parameter: "server", value: value.detailText,
                                             message: "Expected a server name: \(problem)"))
        }
        var platform: Platform?
        switch body["platform"] {
        case .string(let text) where Platform(rawValue: text) != nil:
            platform = Platform(rawValue: text)
        case nil:
            problems.append(ValidationDetail(parameter: "platform", message: "Required"))
        case let value?:
            problems.append(ValidationDetail(parameter: "platform", value: value.detailText, message: "Expected mt4 or mt5"))
        }
        guard problems.isEmpty, let login, let server, let platform else { throw APIError.validation(details: problems) }
        return AccountRegistration(login: login, server: server, platform: platform)
    }
}
