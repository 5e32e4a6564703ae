import Hummingbird
import TidemarkProtocol

extension TidemarkAPI {
    /// `GET/PUT /users/current/terminal-keys`: admin only; 404 when the agent runs without CURVE.
    ///
    /// The key travels in the body, not the path: Z85 uses `/`, `?`, `#` and `%`.
    func addTerminalKeyRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("terminal-keys") { _, context in
            try requireAdmin(context, "Only the admin token manages terminal keys")
            return try APIJSON.response(try await curveKeys().terminalKeys())
        }
        group.put("terminal-keys") { request, context in
            try requireAdmin(context, "Only the admin token manages terminal keys")
            let keys = try curveKeys()
            let body = try await jsonObject(request)
            var problems: [ValidationDetail] = []
            var publicKey = ""
            switch body["publicKey"] {
            case .string(let text)? where text.utf8.count == 40: publicKey = text
            case nil: problems.append(ValidationDetail(parameter: "publicKey", message: "Required"))
            case let value?: problems.append(ValidationDetail(parameter: "publicKey", value: value.detailText,
                                                              message: "Expected a Z85 public key (40 characters)"))
            }
            var account: AccountID?
            switch body["accountId"] {
            case .null?: account = nil
            case .string(let text)? where Self.isAccountID(text): account = AccountID(text)
            case nil: problems.append(ValidationDetail(parameter: "accountId", message: "Required (null unbinds the key)"))
            case let value?: problems.append(ValidationDetail(parameter: "accountId", value: value.detailText,
                                                              message: "Expected an account id (server:login) or null"))
            }
            if !problems.isEmpty { throw APIError.validation(details: problems) }
            return try APIJSON.response(try await keys.bindTerminalKey(publicKey, to: account))
        }
    }

    private func curveKeys() throws -> any TerminalKeyAdministration {
        guard let terminalKeys else { throw APIError.notFound("The agent runs without CURVE: terminals have no keys") }
        return terminalKeys
    }

    /// `server:login` with a non-empty server and an integer login.
    static func isAccountID(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else { return false }
        return Int64(text[text.index(after: colon)...]) != nil
    }
}
