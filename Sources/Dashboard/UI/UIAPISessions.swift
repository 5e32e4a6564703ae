import API
import Foundation
import TidemarkProtocol

/// The web UI's sessions as the API's ``SessionAuthority``: the API routes mounted on the dashboard
/// accept the UI's session cookie for reads (same origin; see `SessionAuthority` for why only reads),
/// with the rights of the token that opened the session.
public struct UIAPISessions: SessionAuthority {
    let sessions: UISessions
    let tokens: DashboardTokens

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

extension DashboardRuntime {
    /// The session authority to give the API's routes on the dashboard (`TidemarkAPI(…, sessions:)`),
    /// so that pages may read them with their cookie.
    public var apiSessions: UIAPISessions {
        let adminToken = configuration.adminToken ?? ""
        return UIAPISessions(
            sessions: UISessions(adminToken: adminToken),
            tokens: DashboardTokens(client: store.client, adminToken: adminToken, logger: logger))
    }
}
