import API
import Foundation
import Hummingbird
import Store
import StoreBackedAPI
import Testing
import TidemarkProtocol

/// The API's event vocabulary and the store's must agree: a read model answering from memory
/// (``EventSelection/matches(_:)``) and the store answering in SQL (`EventQuery`) select the same
/// events, and webhook filters survive the round trip.
@Suite struct StoreTranslationTests {
    @Test func aSelectionMatchesWhatItsStoreQueryMatches() {
        var random = SplitMix64(seed: 14)
        let accounts: [AccountID?] = [nil, AccountID("S:1"), AccountID("S:2")]
        let subjects = ["a", "b"]
        func maybe<T>(_ values: [T]) -> T? {
            Bool.random(using: &random) ? values.randomElement(using: &random) : nil
        }
        var agreed = 0
        for _ in 0..<5_000 {
            let event = EventRecord(
                sequenceNumber: UInt64.random(in: 1...6, using: &random),
                kind: EventKind.allCases.randomElement(using: &random)!,
                accountId: accounts.randomElement(using: &random)!, subjectId: subjects.randomElement(using: &random)!,
                brokerTime: BrokerTime(milliseconds: Int64.random(in: 0...4, using: &random)),
                body: JSONBody(Data("{}".utf8)))
            let selection = EventSelection(
                kind: maybe(EventKind.allCases), accountId: maybe(accounts.compactMap { $0 }),
                subjectId: maybe(subjects),
                fromBrokerTime: maybe([0, 2, 4].map { BrokerTime(milliseconds: $0) }),
                toBrokerTime: maybe([0, 2, 4].map { BrokerTime(milliseconds: $0) }),
                afterSequenceNumber: maybe([0, 3, 6]),
                allowedAccounts: maybe([[], [AccountID("S:1")], Set(accounts.compactMap { $0 })]))
            let inSQL = EventQuery(selection).matches(
                kind: SubjectKind(event.kind), accountId: event.accountId, subjectId: event.subjectId,
                brokerTime: event.brokerTime, sequenceNumber: event.sequenceNumber)
            #expect(selection.matches(event) == inSQL, "\(selection) on \(event)")
            if inSQL { agreed += 1 }
        }
        // Both answers occur, so the comparison is not vacuous.
        #expect(agreed > 100 && agreed < 4_900)
    }

    @Test func kindsAndWebhookFiltersRoundTrip() {
        for kind in EventKind.allCases {
            #expect(EventKind(SubjectKind(kind)) == kind)
            #expect(SubjectKind(kind).rawValue == kind.rawValue)
        }
        let filter = WebhookEventFilter(
            kinds: [.challenge, .competition], accountIds: [AccountID("S:1")], subjectIds: ["c1"], types: ["drawdown"])
        #expect(WebhookEventFilter(WebhookFilter(filter)) == filter)
        #expect(WebhookEventFilter(WebhookFilter(WebhookEventFilter())) == WebhookEventFilter())
    }

    @Test func aReadOnlyServerRefusesWritesWithForbidden() {
        let error = APIError.readOnlyServer("This server is read-only; declare trackers on the account's agent")
        #expect(error.status == .forbidden)
        #expect(error.code == "ForbiddenError")
    }
}
