import Foundation
import RiskCore
import TidemarkProtocol

// Conversions between the risk core's types and the API's, for whoever implements
// ``RiskReadModel`` and ``RiskControl`` (the agent, and the tests' in-memory agent).

extension TrackerResource {
    /// The API's view of a declared tracker.
    public init(_ definition: TrackerDefinition) {
        self.init(id: definition.id, accountId: definition.accountId, name: definition.name,
                  period: definition.period,
                  startBrokerTime: definition.startBrokerTime, endBrokerTime: definition.endBrokerTime,
                  absoluteDrawdownThreshold: definition.absoluteDrawdownThreshold,
                  relativeDrawdownThreshold: definition.relativeDrawdownThreshold,
                  absoluteProfitThreshold: definition.absoluteProfitThreshold,
                  relativeProfitThreshold: definition.relativeProfitThreshold)
    }

    /// The declaration for the risk core. `createdBrokerTime` is the account's latest broker time
    /// known to the single writer (the start when `startBrokerTime` is absent).
    public func definition(createdBrokerTime: BrokerTime?) -> TrackerDefinition {
        TrackerDefinition(id: id, accountId: accountId, name: name,
                          period: period,
                          startBrokerTime: startBrokerTime, endBrokerTime: endBrokerTime,
                          absoluteDrawdownThreshold: absoluteDrawdownThreshold,
                          relativeDrawdownThreshold: relativeDrawdownThreshold,
                          absoluteProfitThreshold: absoluteProfitThreshold,
                          relativeProfitThreshold: relativeProfitThreshold, createdBrokerTime: createdBrokerTime)
    }
}

extension APIError {
    /// The API's answer to a declaration the risk core refused.
    public init(_ error: RiskCoreError) {
        switch error {
        case .duplicateTrackerName:
            self = .conflict("A tracker with this name exists on the account (\(error.detail))")
        case .duplicateTrackerID, .duplicateChallengeID, .duplicateCompetitionID:
            // Without the detail: it names the account holding the id, which may be one the
            // caller's token cannot see.
            self = .conflict("The id is taken")
        case .trackerNotFound, .challengeNotFound, .competitionNotFound:
            self = .notFound("Not found (\(error.detail))")
        case .missingThreshold:
            self = .validation(details: [ValidationDetail(parameter: "absoluteDrawdownThreshold", message: "At least one threshold is required")])
        case .invalidThreshold:
            self = .validation(details: [ValidationDetail(parameter: "threshold", value: error.detail, message: "Must be greater than 0")])
        case .invalidTimeRange:
            self = .validation(details: [ValidationDetail(parameter: "endBrokerTime", value: error.detail, message: "Must be after the start")])
        case .limitExceeded:
            // The detail reads `FIELD: what`.
            let parts = error.detail.split(separator: ":", maxSplits: 1)
            self = .validation(details: [ValidationDetail(parameter: parts.count == 2 ? String(parts[0]) : "body",
                                                          message: String(parts.last ?? "").trimmingCharacters(in: .whitespaces))])
        case .invalidName:
            self = .validation(details: [ValidationDetail(parameter: "name", value: error.detail, message: "Must not be empty")])
        default:
            self = .validation(details: [ValidationDetail(parameter: "body", value: error.detail, message: error.description)])
        }
    }
}

extension EventRecord {
    /// The API's form of a risk-core event output; nil for records (statistics, chart hours).
    public init?(_ output: RiskOutput) throws {
        switch output {
        case .trackerEvent(let event):
            self.init(sequenceNumber: event.sequenceNumber, kind: .tracker, accountId: event.accountId,
                      subjectId: event.trackerId, brokerTime: event.brokerTime, body: try JSONBody(encoding: event))
        case .challengeEvent(let sequenceNumber, let event):
            self.init(sequenceNumber: sequenceNumber, kind: .challenge, accountId: event.account, subjectId: event.challengeID,
                      brokerTime: event.brokerTime, body: try JSONBody(encoding: ChallengeEventResource(sequenceNumber: sequenceNumber, event)))
        case .competitionEvent(let sequenceNumber, let event):
            self.init(sequenceNumber: sequenceNumber, kind: .competition, accountId: event.account, subjectId: event.competitionID,
                      brokerTime: event.brokerTime,
                      body: try JSONBody(encoding: CompetitionEventResource(sequenceNumber: sequenceNumber, event)))
        case .periodStatistics, .equityChart, .inputRefused:
            return nil
        }
    }
}

extension StatisticsRecord {
    /// A tracker period in its MetaApi shape.
    public init(_ statistics: PeriodStatistics) throws {
        self.init(startBrokerTime: statistics.startBrokerTime, body: try JSONBody(encoding: statistics))
    }
}

extension ChartRecord {
    /// A chart hour in its MetaApi shape.
    public init(_ record: EquityChartRecord) throws {
        self.init(startBrokerTime: record.startBrokerTime, body: try JSONBody(encoding: record))
    }

    /// The open hour in the shape of MetaApi's `realTime` records: the twelve documented fields
    /// plus `brokerTime`, `duration` (milliseconds), `equitySum` and `balanceSum` (Σ value ×
    /// milliseconds held), which MetaApi's SDKs read to continue the averages from a price
    /// stream (metaapi-cloud-sdk 29.1, `equity_chart_stream_manager.py`).
    public init(_ open: OpenEquityChartHour) throws {
        self.init(startBrokerTime: open.record.startBrokerTime, body: try JSONBody(encoding: OpenChartHourBody(open: open)))
    }
}

/// Encodes an open chart hour: the record's own fields, then the running sums beside them.
private struct OpenChartHourBody: Encodable {
    let open: OpenEquityChartHour

    private enum Keys: String, CodingKey { case brokerTime, duration, equitySum, balanceSum }

    func encode(to encoder: any Encoder) throws {
        try open.record.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(open.brokerTime.formatted, forKey: .brokerTime)
        try c.encode(open.durationMilliseconds, forKey: .duration)
        try c.encode(Self.decimal(units: open.equitySumUnits), forKey: .equitySum)
        try c.encode(Self.decimal(units: open.balanceSumUnits), forKey: .balanceSum)
    }

    /// A count of 10⁻⁸ as an exact decimal (a JSON number with up to eight decimals).
    static func decimal(units: Int128) -> Decimal {
        let magnitude = units.magnitude
        let text = (units < 0 ? "-" : "") + String(magnitude / 100_000_000) + "." + {
            let fraction = String(magnitude % 100_000_000)
            return String(repeating: "0", count: 8 - fraction.count) + fraction
        }()
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? 0
    }
}
