import API
import Foundation
import Logging
import TidemarkProtocol

/// The web UI's sessions as the API's `SessionAuthority`: the API routes mounted on the dashboard
/// accept the UI's session cookie for reads (same origin; see `SessionAuthority` for why only reads),
/// with the rights of the token that opened the session.
public struct UIAPISessions: SessionAuthority {
    let sessions: UISessions
    let tokens: DashboardTokens

    /// The sessions the UI of a dashboard with this store and admin token issues.
    public init(store: DashboardStore, adminToken: String, logger: Logger) {
        sessions = UISessions(adminToken: adminToken)
        tokens = DashboardTokens(store: store, adminToken: adminToken, logger: logger)
    }

    public var cookieName: String { UISessions.cookieName }

    public func principal(forSession value: String) async throws -> Principal? {
        guard let tokenId = sessions.tokenId(fromCookie: value, now: Date()),
            let principal = try await tokens.principal(forId: tokenId)
        else { return nil }
        return Principal(
            tokenID: principal.tokenId, isAdmin: principal.isAdmin, readOnly: !principal.isAdmin,
            accounts: principal.accounts.map { Set($0.map(AccountID.init)) })
    }
}
