import Foundation
import Synchronization
import TidemarkProtocol

@testable import API

/// Webhooks in memory, for the API tests that run without a store.
final class InMemoryWebhookRegistry: WebhookRegistry {
    private let entries = Mutex<[WebhookResource]>([])
    private let nextNumber = Mutex(1)

    func createWebhook(url: String, secret: String, filter: WebhookEventFilter) async throws -> WebhookResource {
        let number = nextNumber.withLock { number in
            defer { number += 1 }
            return number
        }
        let webhook = WebhookResource(
            id: "wh_\(number)", url: url, filter: WebhookFilterResource(filter),
            createdAt: Date(timeIntervalSince1970: 0).ISO8601Format())
        entries.withLock { $0.append(webhook) }
        return webhook
    }

    func webhooks() async throws -> [WebhookResource] { entries.withLock { $0 } }

    func deleteWebhook(id: String) async throws -> Bool {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.id == id }) else { return false }
            entries.remove(at: index)
            return true
        }
    }
}

/// Terminal keys for the API tests: one key listed without accounts, one listed with an account.
final class InMemoryTerminalKeys: TerminalKeyAdministration, Sendable {
    static let unboundKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    static let listedKey = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    private let bound = Mutex<[String: String]>([:])

    func terminalKeys() async throws -> [TerminalKeyResource] {
        let bound = bound.withLock { $0 }
        return [
            TerminalKeyResource(
                publicKey: Self.unboundKey, allowed: true, listedAccounts: [], boundAccount: bound[Self.unboundKey]),
            TerminalKeyResource(
                publicKey: Self.listedKey, allowed: true, listedAccounts: ["Demo:1"], boundAccount: nil),
        ]
    }

    func bindTerminalKey(_ publicKey: String, to account: AccountID?) async throws -> TerminalKeyResource {
        if publicKey == Self.listedKey { throw APIError.conflict("The allow-list names this key's accounts") }
        guard publicKey == Self.unboundKey else {
            throw APIError.notFound("Terminal key \(publicKey) is not on the allow-list")
        }
        bound.withLock { $0[publicKey] = account?.rawValue }
        return TerminalKeyResource(
            publicKey: publicKey, allowed: true, listedAccounts: [], boundAccount: account?.rawValue)
    }
}
