import Foundation
import RiskCore
import TidemarkProtocol

// The risk core's outputs as store rows. Bodies are the values' own canonical JSON.

extension StoreBatch {
    /// Adds one risk-core output: an event to ``events``, a closed period to ``statistics``, a closed
    /// hour to ``chartRecords``. Append a step's outputs in the order the core returned them.
    public mutating func append(_ output: RiskOutput) throws(StoreError) {
        switch output {
        case .trackerEvent(let event):
            events.append(try StoredEvent(trackerEvent: event))
        case .periodStatistics(let accountId, let trackerId, let periodStatistics):
            statistics.append(
                try StoredStatistics(accountId: accountId, trackerId: trackerId, statistics: periodStatistics))
        case .equityChart(let accountId, let record):
            chartRecords.append(try StoredChartRecord(accountId: accountId, record: record))
        case .challengeEvent(let sequenceNumber, let event):
            events.append(try StoredEvent(sequenceNumber: sequenceNumber, challengeEvent: event))
        case .competitionEvent(let sequenceNumber, let event):
            events.append(try StoredEvent(sequenceNumber: sequenceNumber, competitionEvent: event))
        case .inputRefused:
            break  // not stored: the agent marks the account in error (and counts it)
        }
    }
}

extension StoredEvent {
    /// A tracker event; its type is the exceeded threshold (`drawdown` or `profit`).
    public init(trackerEvent event: TrackerEvent) throws(StoreError) {
        try self.init(
            sequenceNumber: event.sequenceNumber, kind: .tracker, type: event.exceededThresholdType.rawValue,
            accountId: event.accountId, subjectId: event.trackerId, brokerTime: event.brokerTime, encoding: event)
    }
}

extension StoredStatistics {
    /// A closed tracker period.
    public init(accountId: AccountID, trackerId: String, statistics: PeriodStatistics) throws(StoreError) {
        self.init(
            accountId: accountId, trackerId: trackerId, startBrokerTime: statistics.startBrokerTime,
            endBrokerTime: statistics.endBrokerTime, body: try CanonicalJSON.encode(statistics))
    }
}

extension StoredChartRecord {
    /// A closed equity-chart hour.
    public init(accountId: AccountID, record: EquityChartRecord) throws(StoreError) {
        self.init(
            accountId: accountId, startBrokerTime: record.startBrokerTime, endBrokerTime: record.endBrokerTime,
            body: try CanonicalJSON.encode(record))
    }
}

extension StoredDefinition {
    /// A tracker definition (name unique per account among live trackers).
    public init(tracker definition: TrackerDefinition, createdAt: Date) throws(StoreError) {
        self.init(
            kind: .tracker, id: definition.id, accountId: definition.accountId, name: definition.name,
            body: try CanonicalJSON.encode(definition), createdAt: createdAt)
    }
}
