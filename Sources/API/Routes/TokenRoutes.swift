import Hummingbird
import TidemarkProtocol

extension TidemarkAPI {
    /// `POST/GET /users/current/tokens`, `DELETE /users/current/tokens/{tokenId}`: admin only.
    func addTokenRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("tokens") { request, context in
            try requireAdmin(context)
            let body = try await jsonObject(request)
            var problems: [ValidationDetail] = []
            if body["accounts"] != nil {
                problems.append(ValidationDetail(parameter: "accounts", message: "Unknown field: the API calls it accountIds"))
            }
            var name = ""
            switch body["name"] {
            case .string(let text)? where !text.isEmpty: name = text
            case nil: problems.append(ValidationDetail(parameter: "name", message: "Required"))
            case let value?: problems.append(ValidationDetail(parameter: "name", value: value.detailText, message: "Expected a non-empty string"))
            }
            var accounts: [AccountID]?
            switch body["accountIds"] {
            case nil, .null?: accounts = nil
            case .array(let values)? where values.allSatisfy({ $0.stringValue.map { !$0.isEmpty } ?? false }):
                accounts = values.compactMap(\.stringValue).map(AccountID.init)
            case let value?:
                problems.append(ValidationDetail(parameter: "accountIds", value: value.detailText, message: "Expected an array of account ids"))
            }
            var readOnly = false
            switch body["readOnly"] {
            case nil, .null?: readOnly = false
            case .bool(let flag)?: readOnly = flag
            case let value?: problems.append(ValidationDetail(parameter: "readOnly", value: value.detailText, message: "Expected true or false"))
            }
            // A token for an account the agent does not know would see nothing and say nothing:
            // refuse it, so a typo in an id is caught now (register the account first).
            for account in accounts ?? [] where try await readModel.account(account) == nil {
                problems.append(ValidationDetail(parameter: "accountIds", value: account.rawValue,
                                                 message: "Unknown account: register it first (POST /users/current/accounts)"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            let (token, secret) = try await tokens.createToken(NewToken(name: name, accounts: accounts, readOnly: readOnly))
            return try APIJSON.response(CreatedToken(id: token.id, token: secret, name: token.name,
                                                     readOnly: token.readOnly, accounts: token.accounts), status: .created)
        }
        group.get("tokens") { _, context in
            try requireAdmin(context)
            return try APIJSON.response(try await tokens.tokens())
        }
        group.delete("tokens/:tokenId") { _, context in
            try requireAdmin(context)
            let id = try context.pathParameter("tokenId")
            guard id != (try context.requirePrincipal()).tokenID else {
                throw APIError.conflict("A token cannot revoke itself")
            }
            guard try await tokens.revoke(id: id) else { throw APIError.notFound("Token \(id) not found") }
            return Response(status: .noContent)
        }
    }

    /// 403 (with `message`) unless the principal is the admin token.
    func requireAdmin(_ context: APIRequestContext, _ message: String = "Only the admin token manages tokens") throws {
        guard try context.requirePrincipal().isAdmin else { throw APIError.forbidden(message) }
    }
}
