import Hummingbird
import TidemarkProtocol

extension TidemarkAPI {
    /// Events by broker time and by long poll, for each kind:
    /// - `GET /users/current/tracker-events/by-broker-time` and `…/stream` (MetaApi,
    ///   https://metaapi.cloud/docs/risk-management/restApi/api/getTrackerEvents/ and getTrackerEventsStream);
    /// - the same for `challenge-events` (filter `challengeId`) and `competition-events` (`competitionId`).
    func addEventRoutes(to group: RouterGroup<APIRequestContext>) {
        for (path, kind, subjectParameter) in [
            ("tracker-events", EventKind.tracker, "trackerId"),
            ("challenge-events", .challenge, "challengeId"),
            ("competition-events", .competition, "competitionId"),
        ] {
            group.get("\(path)/by-broker-time") { request, context in
                var reader = QueryReader(request)
                var query = try eventQuery(&reader, kind: kind, subjectParameter: subjectParameter, context: context)
                query.fromBrokerTime = reader.brokerTime("startBrokerTime")
                query.toBrokerTime = reader.brokerTime("endBrokerTime")
                try reader.validate()
                try await checkAccountFilter(query, context: context)
                return Self.jsonArrayResponse(try await readModel.events(query).map(\.body))
            }
            group.get("\(path)/stream") { request, context in
                var reader = QueryReader(request)
                var query = try eventQuery(&reader, kind: kind, subjectParameter: subjectParameter, context: context)
                query.afterSequenceNumber = reader.sequenceNumber("previousSequenceNumber")
                try reader.validate()
                try await checkAccountFilter(query, context: context)
                let events = try await waitLimiter.withSlot(for: try context.requirePrincipal().tokenID) {
                    try await longPoll(query)
                }
                return Self.jsonArrayResponse(events.map(\.body))
            }
        }
    }

    /// The filters common to both event routes: `accountId`, the subject id, `limit` (1…1000,
    /// default 1000), and the token's account list.
    func eventQuery(
        _ reader: inout QueryReader, kind: EventKind, subjectParameter: String,
        context: APIRequestContext
    ) throws -> EventSelection {
        let principal = try context.requirePrincipal()
        return EventSelection(
            kind: kind, accountId: reader.string("accountId").map(AccountID.init),
            subjectId: reader.string(subjectParameter),
            allowedAccounts: allowedAccounts(principal),
            limit: reader.integer("limit", in: 1...1000, default: 1000))
    }

    /// An `accountId` filter naming an unknown account, or one the token may not see, is a 404
    /// (the same answer for both, so ids don't leak).
    func checkAccountFilter(_ query: EventSelection, context: APIRequestContext) async throws {
        guard let account = query.accountId else { return }
        let principal = try context.requirePrincipal()
        guard principal.canSee(account), try await readModel.account(account) != nil else {
            throw APIError.notFound("Account \(account) not found")
        }
    }

    /// Answers at once when events match; otherwise waits for the agent to commit more, up to
    /// ``APIConfiguration/longPollTimeout``, and answers `[]` if none of them match by then (or
    /// when the server shuts down).
    func longPoll(_ query: EventSelection) async throws -> [EventRecord] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.longPollTimeout)
        while true {
            // Read the latest number *before* querying: an event committed after the query is
            // then newer than `seen`, and the wait below returns at once.
            let seen = notifier.latestSequenceNumber
            let events = try await readModel.events(query)
            if !events.isEmpty { return events }
            if notifier.isShutDown || Task.isCancelled { return [] }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else { return [] }
            guard await notifier.wait(after: seen, timeout: remaining) else { return [] }
        }
    }
}
