import Foundation
import RiskCore
import TidemarkProtocol

extension EventRecord {
    /// An event as its store keeps it (the risk core's own Codable JSON of a tracker, challenge or
    /// competition event) in the API's form: amounts as exact numbers, broker times as
    /// `YYYY-MM-DD HH:mm:ss.SSS`, references named `…Id`, numbered `sequenceNumber`.
    ///
    /// The body carries `sequenceNumber` too: the agent passes the risk core's own number; a server
    /// that orders several agents' events by its own number passes that one, so a client resumes a
    /// stream from the number it read in a body.
    public init(
        sequenceNumber: UInt64, kind: EventKind, accountId: AccountID?, subjectId: String, brokerTime: BrokerTime,
        riskCoreJSON: Data
    ) throws {
        let decoder = JSONDecoder()
        let body: JSONBody
        switch kind {
        case .tracker:
            var event = try decoder.decode(TrackerEvent.self, from: riskCoreJSON)
            event.sequenceNumber = sequenceNumber
            body = try JSONBody(encoding: event)
        case .challenge:
            body = try JSONBody(
                encoding: ChallengeEventResource(
                    sequenceNumber: sequenceNumber, try decoder.decode(ChallengeEvent.self, from: riskCoreJSON)))
        case .competition:
            body = try JSONBody(
                encoding: CompetitionEventResource(
                    sequenceNumber: sequenceNumber, try decoder.decode(CompetitionEvent.self, from: riskCoreJSON)))
        }
        self.init(
            sequenceNumber: sequenceNumber, kind: kind, accountId: accountId, subjectId: subjectId,
            brokerTime: brokerTime, body: body)
    }
}
