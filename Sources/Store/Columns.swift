import Foundation
import GRDB
import TidemarkProtocol

// Conversions between Swift values and the column conventions of ``Schema``.

extension Date {
    /// Unix time in whole milliseconds (the store keeps wall-clock times to the millisecond).
    var storedMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(storedMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(storedMilliseconds) / 1000) }
}

extension Row {
    func date(_ column: String) -> Date? {
        (self[column] as Int64?).map(Date.init(storedMilliseconds:))
    }

    func brokerTime(_ column: String) -> BrokerTime? {
        (self[column] as Int64?).map(BrokerTime.init(milliseconds:))
    }

    func decimal(_ column: String) -> FixedDecimal? {
        (self[column] as Int64?).map(FixedDecimal.init(units:))
    }

    func accountId(_ column: String) -> AccountID? {
        (self[column] as String?).map(AccountID.init)
    }

    func sequence(_ column: String) -> UInt64? {
        (self[column] as Int64?).map { UInt64($0) }
    }

    /// A TEXT body back as bytes.
    func body(_ column: String) -> Data {
        Data(((self[column] as String?) ?? "").utf8)
    }
}

/// JSON bytes as TEXT, so the file stays readable with the `sqlite3` shell and its JSON functions.
func storedText(_ body: Data) -> String { String(decoding: body, as: UTF8.self) }

/// A sequence number or position as SQLite's signed 64-bit integer.
func storedInteger(_ value: UInt64, _ what: String) throws(StoreError) -> Int64 {
    guard let integer = Int64(exactly: value) else {
        throw StoreError.invalidArgument.with(detail: "\(what) \(value) exceeds 2^63-1")
    }
    return integer
}

extension AccountID {
    /// Splits `"<server>:<login>"` at its last colon (server names may contain colons, logins do not).
    func serverAndLogin() throws(StoreError) -> (server: String, login: Int64) {
        guard let colon = rawValue.lastIndex(of: ":"),
            let login = Int64(rawValue[rawValue.index(after: colon)...]),
            colon != rawValue.startIndex
        else { throw StoreError.invalidArgument.with(detail: "account id \(rawValue) is not <server>:<login>") }
        return (String(rawValue[..<colon]), login)
    }
}

extension Row {
    func storedEvent() -> StoredEvent {
        StoredEvent(
            sequenceNumber: sequence("sequence") ?? 0,
            kind: SubjectKind(rawValue: self["kind"]) ?? .tracker,
            type: self["type"],
            accountId: accountId("account_id"),
            subjectId: self["subject_id"],
            brokerTime: brokerTime("broker_time") ?? BrokerTime(milliseconds: 0),
            body: body("body"))
    }

    func accountRecord() -> AccountRecord {
        AccountRecord(
            id: AccountID(self["id"] as String), server: self["server"], login: self["login"],
            platform: (self["platform"] as String?).flatMap(Platform.init(rawValue:)),
            currency: self["currency"], registeredAt: date("registered_at"),
            lastEquity: decimal("last_equity"), lastBalance: decimal("last_balance"),
            lastSeenBrokerTime: brokerTime("last_seen_broker_time"),
            connected: self["connected"] as Bool,
            reconciliationDrift: decimal("reconciliation_drift"),
            enforcementState: self["enforcement_state"],
            lastConnectedAt: date("last_connected_at"), lastDisconnectedAt: date("last_disconnected_at"))
    }

    func definition() -> StoredDefinition {
        StoredDefinition(
            kind: SubjectKind(rawValue: self["kind"]) ?? .tracker, id: self["id"],
            accountId: accountId("account_id"), name: self["name"], body: body("body"),
            createdAt: date("created_at") ?? Date(storedMilliseconds: 0), deletedAt: date("deleted_at"))
    }

    func enforcementCommand() -> EnforcementCommandRecord {
        EnforcementCommandRecord(
            id: self["id"], accountId: AccountID(self["account_id"] as String),
            kind: CommandKind(rawValue: self["kind"]) ?? .closeAllPositions,
            reason: self["reason"], requestedAt: date("requested_at") ?? Date(storedMilliseconds: 0),
            causeSequenceNumber: sequence("cause_sequence"), acknowledgedAt: date("acknowledged_at"),
            acknowledgedBrokerTime: brokerTime("acknowledged_broker_time"),
            succeeded: self["succeeded"], detail: self["detail"])
    }
}
