import Crypto
import Foundation
import GRDB
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

@Suite("API tokens")
struct TokenTests {
    @Test("Tokens stored as plain SHA-256 before the keyed hashes still verify after the upgrade")
    func unkeyedRowsAreMigrated() async throws {
        let directory = try TemporaryDirectory()
        do {
            let queue = try DatabaseQueue(path: directory.storePath)
            try Schema.migrator.migrate(queue, upTo: Schema.migrationIdentifiers[2])
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO api_token (id, name, hash, admin, read_only, created_at) VALUES ('tok_old', 'old', ?, 1, 0, 0)
                    """, arguments: [Data(SHA256.hash(data: Data("tm_an_old_token_0123456789abcdef".utf8)))])
            }
            try queue.close()
        }
        let store = try Store(path: directory.storePath)
        #expect(try await store.verifyToken("tm_an_old_token_0123456789abcdef")?.id == "tok_old")
        #expect(try await store.verifyToken("tm_an_old_token_0123456789abcdeF") == nil)
        let hash = try #require(try await store.read { db in try Data.fetchOne(db, sql: "SELECT hash FROM api_token") })
        #expect(hash != Data(SHA256.hash(data: Data("tm_an_old_token_0123456789abcdef".utf8))))
        try store.close()
    }

    @Test("A created token verifies; a wrong or revoked one does not")
    func verify() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let issued = try await store.createToken(name: "back office", at: wallTime(1000))
        #expect(issued.secret.hasPrefix("tm_") && issued.secret.count == 3 + 64)
        #expect(try await store.verifyToken(issued.secret) == issued.token)
        #expect(try await store.verifyToken(issued.secret + "x") == nil)
        #expect(try await store.verifyToken("") == nil)
        try await store.revokeToken(id: issued.token.id, at: wallTime(2000))
        #expect(try await store.verifyToken(issued.secret) == nil)
        await #expect(throws: StoreError.notFound) { try await store.revokeToken(id: issued.token.id, at: wallTime(3000)) }
        #expect(try await store.tokens().first?.revokedAt == wallTime(2000))
        try store.close()
    }

    @Test("Only a keyed hash of the secret is stored: HMAC-SHA256 with the store's own key, of its SHA-256")
    func onlyHashStored() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let issued = try await store.createToken(name: "admin", isAdmin: true, secret: "correct-horse-battery-staple", at: wallTime(0))
        let row = try #require(try store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM api_token") })
        // Computed independently of the store's helper.
        let key = try #require(try await store.read { db in try Data.fetchOne(db, sql: "SELECT token_key FROM store_identity") })
        #expect(key.count == 32)
        let digest = Data(SHA256.hash(data: Data("correct-horse-battery-staple".utf8)))
        let expected = Data(HMAC<SHA256>.authenticationCode(for: digest, using: SymmetricKey(data: key)))
        #expect(row["hash"] as Data == expected)
        #expect(row["hash"] as Data != digest)
        for column in row.columnNames {
            if case .string(let text) = (row[column] as DatabaseValue).storage { #expect(!text.contains("correct-horse")) }
        }
        #expect(try await store.verifyToken("correct-horse-battery-staple")?.isAdmin == true)
        // The same secret twice would make two tokens indistinguishable.
        await #expect(throws: StoreError.conflict) {
            try await store.createToken(name: "again", secret: "correct-horse-battery-staple", at: wallTime(1))
        }
        await #expect(throws: StoreError.invalidArgument) { try await store.createToken(name: "short", secret: "abc", at: wallTime(1)) }
        _ = issued
        try store.close()
    }

    @Test("Account lists and read-only limit a token; admin sees everything")
    func limits() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let limited = try await store.createToken(name: "desk", isReadOnly: true, allowedAccounts: [accountA], at: wallTime(0))
        let token = try #require(try await store.verifyToken(limited.secret))
        #expect(token.allowedAccounts == [accountA])
        #expect(token.canSee(accountA) && !token.canSee(accountB))
        #expect(!token.canWrite)
        let open = try #require(try await store.verifyToken(try await store.createToken(name: "all", at: wallTime(0)).secret))
        #expect(open.canSee(accountB) && open.canWrite && !open.isAdmin)
        let admin = try #require(try await store.verifyToken(
            try await store.createToken(name: "admin", isAdmin: true, allowedAccounts: [], at: wallTime(0)).secret))
        #expect(admin.canSee(accountB))
        try store.close()
    }
}

@Suite("Webhook outbox")
struct OutboxTests {
    @Test("Matching events queue a delivery per webhook in the commit; others do not")
    func queueing() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let all = try await store.createWebhook(url: "http://127.0.0.1:9/all", secret: "s1", id: "all", at: wallTime(0))
        let onlyB = try await store.createWebhook(url: "http://127.0.0.1:9/b", secret: "s2",
                                                  filter: WebhookFilter(kinds: [.tracker], accountIds: [accountB]), id: "b", at: wallTime(0))
        let receipt = try await store.commit(StoreBatch(events: [sampleEvent(1, account: accountA), sampleEvent(2, account: accountB),
                                                                 sampleEvent(3, account: accountB, kind: .challenge)]))
        #expect(receipt.queuedDeliveryCount == 4) // all: 1, 2, 3; b: 2
        let due = try await store.dueDeliveries(at: wallTime(0))
        #expect(due.map { "\($0.webhookId):\($0.event.sequenceNumber)" } == ["all:1", "all:2", "b:2", "all:3"])
        #expect(due.first?.url == all.url && due.first?.secret == "s1" && due.first?.attempts == 0)
        #expect(try await store.webhooks().map(\.id) == [all.id, onlyB.id])
        #expect(try await store.webhooks().last?.filter == WebhookFilter(kinds: [.tracker], accountIds: [accountB]))
        try store.close()
    }

    @Test("Failed attempts are retried at the chosen time until delivered or abandoned")
    func retryBookkeeping() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        _ = try await store.createWebhook(url: "http://127.0.0.1:9/", secret: "s", id: "w", at: wallTime(0))
        try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2)]))
        try await store.markFailed(webhookId: "w", sequenceNumber: 1, error: "connection refused", retryAt: wallTime(10_000))
        #expect(try await store.dueDeliveries(at: wallTime(9_999)).map(\.event.sequenceNumber) == [2])
        #expect(try await store.nextDeliveryDue() == wallTime(0))
        try await store.markDelivered(webhookId: "w", sequenceNumber: 2, at: wallTime(50))
        #expect(try await store.nextDeliveryDue() == wallTime(10_000))
        let retry = try await store.dueDeliveries(at: wallTime(10_000))
        #expect(retry.map(\.attempts) == [1])
        try await store.markFailed(webhookId: "w", sequenceNumber: 1, error: "HTTP 500", retryAt: wallTime(30_000))
        #expect(try await store.dueDeliveries(at: wallTime(30_000)).map(\.attempts) == [2])
        try await store.markFailed(webhookId: "w", sequenceNumber: 1, error: "HTTP 500", retryAt: nil)
        #expect(try await store.pendingDeliveryCount() == 0)
        #expect(try await store.nextDeliveryDue() == nil)
        // Finished deliveries cannot be marked again.
        await #expect(throws: StoreError.notFound) { try await store.markDelivered(webhookId: "w", sequenceNumber: 2, at: wallTime(60)) }
        try store.close()
    }

    @Test("Deleting a webhook drops its pending deliveries")
    func deleteWebhook() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        _ = try await store.createWebhook(url: "http://127.0.0.1:9/", secret: "s", id: "w", at: wallTime(0))
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        #expect(try await store.pendingDeliveryCount() == 1)
        try await store.deleteWebhook(id: "w")
        #expect(try await store.pendingDeliveryCount() == 0)
        await #expect(throws: StoreError.notFound) { try await store.deleteWebhook(id: "w") }
        // Events keep committing with no webhook.
        #expect(try await store.commit(StoreBatch(events: [sampleEvent(2)])).queuedDeliveryCount == 0)
        try store.close()
    }
}

@Suite("Enforcement commands")
struct EnforcementTests {
    @Test("Requested commands get ids, are enforced once per cause, and store their acknowledgement")
    func lifecycle() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        let request = EnforcementRequest(accountId: accountA, kind: .closeAllPositions, reason: "max loss breached",
                                         requestedAt: wallTime(1000), causeSequenceNumber: 1)
        let first = try await store.commit(StoreBatch(events: [sampleEvent(1)], enforcementRequests: [
            request, EnforcementRequest(accountId: accountA, kind: .disableTrading, reason: "max loss breached",
                                        requestedAt: wallTime(1000), causeSequenceNumber: 1),
        ]))
        #expect(first.newCommands.map(\.kind) == [.closeAllPositions, .disableTrading])
        let closeAll = first.newCommands[0]
        #expect(closeAll.command == Command(id: closeAll.id, kind: .closeAllPositions, reason: "max loss breached"))
        // Replaying event 1 after a restart asks again: nothing new.
        let replay = try await store.commit(StoreBatch(events: [sampleEvent(1)], enforcementRequests: [request]))
        #expect(replay.newCommands.isEmpty)
        #expect(try await store.unacknowledgedCommands(accountId: accountA).count == 2)
        let ack = CommandAcknowledgement(commandID: closeAll.id, time: BrokerTime(milliseconds: 1500), succeeded: true, detail: "closed 3")
        let acked = try await store.commit(StoreBatch(enforcementAcknowledgements: [
            EnforcementAcknowledgement(accountId: accountA, acknowledgement: ack, receivedAt: wallTime(1600)),
            // The same acknowledgement from another account, and an unknown id: both unmatched.
            EnforcementAcknowledgement(accountId: accountB, acknowledgement: ack, receivedAt: wallTime(1600)),
            EnforcementAcknowledgement(accountId: accountA, acknowledgement: CommandAcknowledgement(commandID: 999, time: BrokerTime(milliseconds: 0), succeeded: false, detail: ""), receivedAt: wallTime(1600)),
        ]))
        #expect(acked.unmatchedAcknowledgements == [closeAll.id, 999])
        let stored = try await store.enforcementCommands(accountId: accountA)
        #expect(stored.map(\.kind) == [.disableTrading, .closeAllPositions])
        #expect(stored[1].succeeded == true && stored[1].detail == "closed 3" && stored[1].acknowledgedAt == wallTime(1600))
        #expect(stored[1].acknowledgedBrokerTime == BrokerTime(milliseconds: 1500))
        #expect(try await store.unacknowledgedCommands().map(\.kind) == [.disableTrading])
        try store.close()
    }
}
