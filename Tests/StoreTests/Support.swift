import Foundation
@testable import Store
import TidemarkProtocol

/// A small, stand-in event body: the store treats bodies as opaque JSON.
struct SampleBody: Codable, Hashable {
    var sequenceNumber: UInt64
    var note: String
}

let accountA = AccountID("Broker-Demo:1001")
let accountB = AccountID("Broker-Demo:1002")

/// A tracker event with sequence `n` at broker time `time` ms.
func sampleEvent(_ n: UInt64, account: AccountID = accountA, subject: String = "t1", time: Int64? = nil,
                 kind: SubjectKind = .tracker, type: String = "drawdown", note: String = "") -> StoredEvent {
    try! StoredEvent(sequenceNumber: n, kind: kind, type: type, accountId: account, subjectId: subject,
                     brokerTime: BrokerTime(milliseconds: time ?? Int64(n) * 1000),
                     encoding: SampleBody(sequenceNumber: n, note: note))
}

func sampleDeal(ticket: Int64, time: Int64 = 5000, profit: FixedDecimal = FixedDecimal(12)) -> Deal {
    Deal(ticket: ticket, time: BrokerTime(milliseconds: time), type: .sell, entry: .out, symbol: "EURUSD",
         volume: FixedDecimal(units: 10_000_000), price: FixedDecimal(units: 108_512_000), profit: profit,
         commission: FixedDecimal(units: -350_000_000), swap: .zero, fee: .zero, positionID: ticket - 1, comment: "")
}

func checkpoint(position: UInt64, next: UInt64, state: String = "{}") -> Checkpoint {
    Checkpoint(inputPosition: position, nextSequenceNumber: next, state: Data(state.utf8),
               savedAt: Date(timeIntervalSince1970: 1_700_000_000.123))
}

/// A whole-millisecond wall-clock time (the store keeps milliseconds).
func wallTime(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
