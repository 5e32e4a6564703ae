import Hummingbird
import RiskCore
import TidemarkProtocol

extension TidemarkAPI {
    /// MetaApi's tracker routes (https://metaapi.cloud/docs/risk-management/restApi/api/createTracker/,
    /// getTrackers, getTracker, getTrackerByName, updateTracker, removeTracker, getTrackingStats,
    /// getEquityChart).
    func addTrackerRoutes(to group: RouterGroup<APIRequestContext>) {
        group.post("accounts/:accountId/trackers") { request, context in
            try requireWrite(try context.requirePrincipal())
            let account = try await visibleAccount(context)
            let tracker = try Self.newTracker(from: try await jsonObject(request), id: TokenSecret.generateID(),
                                              accountId: account.id)
            try await control.createTracker(tracker)
            return try Self.createdResponse(id: tracker.id)
        }
        group.get("accounts/:accountId/trackers") { _, context in
            let account = try await visibleAccount(context)
            return try APIJSON.response(try await readModel.trackers(accountId: account.id))
        }
        group.get("accounts/:accountId/trackers/name/:name") { _, context in
            let account = try await visibleAccount(context)
            let name = try context.pathParameter("name")
            guard let tracker = try await readModel.trackers(accountId: account.id).first(where: { $0.name == name }) else {
                throw APIError.notFound("Tracker named \(name) not found on account \(account.id)")
            }
            return try APIJSON.response(tracker)
        }
        group.get("accounts/:accountId/trackers/:trackerId") { _, context in
            try APIJSON.response(try await tracker(context))
        }
        group.put("accounts/:accountId/trackers/:trackerId") { request, context in
            try requireWrite(try context.requirePrincipal())
            let tracker = try await tracker(context)
            let body = try await jsonObject(request)
            guard case .string(let name)? = body["name"], !name.isEmpty else {
                throw APIError.validation(details: [ValidationDetail(parameter: "name", value: body["name"]?.detailText,
                                                                     message: "Required non-empty string")])
            }
            try await control.renameTracker(accountId: tracker.accountId, trackerId: tracker.id, name: name)
            return Response(status: .noContent)
        }
        group.delete("accounts/:accountId/trackers/:trackerId") { _, context in
            try requireWrite(try context.requirePrincipal())
            let tracker = try await tracker(context)
            try await control.deleteTracker(accountId: tracker.accountId, trackerId: tracker.id)
            return Response(status: .noContent)
        }
        group.get("accounts/:accountId/trackers/:trackerId/statistics") { request, context in
            let tracker = try await tracker(context)
            var query = QueryReader(request)
            let startTime = query.brokerTime("startTime")
            let limit = query.integer("limit", in: 1...1000, default: 1)
            let realTime = query.boolean("realTime")
            try query.validate()
            var records: [StatisticsRecord] = []
            if realTime, let open = try await readModel.openStatistics(accountId: tracker.accountId, trackerId: tracker.id),
               startTime.map({ open.startBrokerTime <= $0 }) ?? true {
                records.append(open)
            }
            let closed = try await readModel.closedStatistics(accountId: tracker.accountId, trackerId: tracker.id,
                                                              startingAtOrBefore: startTime, limit: limit)
            // Newest first; the open period (if any) is newer than every closed one.
            records += closed.filter { closedRecord in !records.contains { $0.startBrokerTime == closedRecord.startBrokerTime } }
            return Self.jsonArrayResponse(records.prefix(limit).map(\.body))
        }
        group.get("accounts/:accountId/equity-chart") { request, context in
            let account = try await visibleAccount(context)
            var query = QueryReader(request)
            let startTime = query.brokerTime("startTime")
            let endTime = query.brokerTime("endTime")
            let realTime = query.boolean("realTime")
            if let startTime, let endTime, endTime < startTime {
                query.report(ValidationDetail(parameter: "endTime", value: endTime.formatted, message: "Must not be before startTime"))
            }
            try query.validate()
            var records = try await readModel.closedEquityChart(accountId: account.id, from: startTime, to: endTime)
            if realTime, let open = try await readModel.openEquityChartHour(accountId: account.id),
               endTime.map({ open.startBrokerTime <= $0 }) ?? true,
               !records.contains(where: { $0.startBrokerTime == open.startBrokerTime }) {
                records.append(open)
            }
            return Self.jsonArrayResponse(records.map(\.body))
        }
    }

    /// The tracker of the `accountId`/`trackerId` path parameters, or 404.
    func tracker(_ context: APIRequestContext) async throws -> TrackerResource {
        let account = try await visibleAccount(context)
        let id = try context.pathParameter("trackerId")
        guard let tracker = try await readModel.trackers(accountId: account.id).first(where: { $0.id == id }) else {
            throw APIError.notFound("Tracker \(id) not found on account \(account.id)")
        }
        return tracker
    }

    /// Validates MetaApi's `NewTracker` body, naming every bad field.
    static func newTracker(from body: [String: JSONValue], id: String, accountId: AccountID) throws -> TrackerResource {
        var problems: [ValidationDetail] = []
        var name: String?
        switch body["name"] {
        case .string(let text) where !text.isEmpty: name = text
        case nil: problems.append(ValidationDetail(parameter: "name", message: "Required"))
        case let value?: problems.append(ValidationDetail(parameter: "name", value: value.detailText, message: "Expected a non-empty string"))
        }
        var period: TrackerPeriod?
        switch body["period"] {
        case .string(let text) where TrackerPeriod(rawValue: text) != nil: period = TrackerPeriod(rawValue: text)
        case nil: problems.append(ValidationDetail(parameter: "period", message: "Required"))
        case let value?:
            problems.append(ValidationDetail(parameter: "period", value: value.detailText,
                                             message: "Expected one of " + TrackerPeriod.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        func time(_ key: String) -> BrokerTime? {
            switch body[key] {
            case nil, .null?: return nil
            case .string(let text)? where BrokerTime(formatted: text) != nil: return BrokerTime(formatted: text)
            case let value?:
                problems.append(ValidationDetail(parameter: key, value: value.detailText,
                                                 message: "Expected a time in YYYY-MM-DD HH:mm:ss.SSS format"))
                return nil
            }
        }
        let start = time("startBrokerTime")
        let end = time("endBrokerTime")
        // Equal is accepted: MetaApi's own createTracker example sends endBrokerTime == startBrokerTime.
        if let start, let end, end < start {
            problems.append(ValidationDetail(parameter: "endBrokerTime", value: end.formatted, message: "Must not be before startBrokerTime"))
        }
        func threshold(_ key: String) -> FixedDecimal? {
            let value: FixedDecimal?
            switch body[key] {
            case nil, .null?: return nil
            case .number(let number)?: value = FixedDecimal(number.description)
            case .string(let text)?: value = FixedDecimal(text)  // a decimal string, as the risk core also reads
            default: value = nil
            }
            // The risk core keeps thresholds a JSON number carries exactly (≤ 15 significant digits).
            guard let value, value.units > 0, value.isExactAsJSONNumber else {
                problems.append(ValidationDetail(parameter: key, value: body[key]?.detailText,
                                                 message: "Expected a number greater than 0 with at most 15 significant digits"))
                return nil
            }
            return value
        }
        let thresholdKeys = ["absoluteDrawdownThreshold", "relativeDrawdownThreshold", "absoluteProfitThreshold", "relativeProfitThreshold"]
        let thresholds = thresholdKeys.map(threshold)
        if thresholdKeys.allSatisfy({ body[$0] == nil || body[$0] == .null }) {
            problems.append(ValidationDetail(parameter: "absoluteDrawdownThreshold",
                                             message: "At least one of \(thresholdKeys.joined(separator: ", ")) is required"))
        }
        guard problems.isEmpty, let name, let period else { throw APIError.validation(details: problems) }
        return TrackerResource(id: id, accountId: accountId, name: name, period: period, startBrokerTime: start,
                               endBrokerTime: end, absoluteDrawdownThreshold: thresholds[0],
                               relativeDrawdownThreshold: thresholds[1], absoluteProfitThreshold: thresholds[2],
                               relativeProfitThreshold: thresholds[3])
    }
}
