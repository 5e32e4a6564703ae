import Foundation
import RiskCore
import TidemarkProtocol

// Conversions from the risk core's values to the store's rows: the body is always the value's own
// canonical JSON, the columns are copied from its fields.

extension StoredEvent {
    /// A challenge event, numbered with the risk core's global sequence number.
    public init(sequenceNumber: UInt64, challengeEvent event: ChallengeEvent) throws(StoreError) {
        try self.init(
            sequenceNumber: sequenceNumber, kind: .challenge, type: event.kind.rawValue, accountId: event.account,
            subjectId: event.challengeID, brokerTime: event.brokerTime, encoding: event)
    }

    /// A competition event, numbered with the risk core's global sequence number. Competition-wide
    /// events (started, finished) have no account.
    public init(sequenceNumber: UInt64, competitionEvent event: CompetitionEvent) throws(StoreError) {
        try self.init(
            sequenceNumber: sequenceNumber, kind: .competition, type: event.kind.rawValue, accountId: event.account,
            subjectId: event.competitionID, brokerTime: event.brokerTime, encoding: event)
    }
}

extension StoredDefinition {
    /// A challenge definition (challenges have no name: `name` is nil).
    public init(challenge definition: ChallengeDefinition, createdAt: Date) throws(StoreError) {
        self.init(
            kind: .challenge, id: definition.id, accountId: definition.account, name: nil,
            body: try CanonicalJSON.encode(definition), createdAt: createdAt)
    }

    /// A competition definition (its accounts are in the body).
    public init(competition definition: CompetitionDefinition, createdAt: Date) throws(StoreError) {
        self.init(
            kind: .competition, id: definition.id, accountId: nil, name: nil,
            body: try CanonicalJSON.encode(definition), createdAt: createdAt)
    }
}
