import Hummingbird
import TidemarkProtocol

/// Reads query parameters, collecting every bad one so a 400 lists them all at once.
struct QueryReader {
    private let parameters: [String: String]
    private(set) var problems: [ValidationDetail] = []

    init(_ request: Request) {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        self.parameters = parameters
    }

    /// A `YYYY-MM-DD HH:mm:ss.SSS` broker time.
    mutating func brokerTime(_ name: String) -> BrokerTime? {
        guard let text = parameters[name] else { return nil }
        guard let time = BrokerTime(formatted: text) else {
            problems.append(ValidationDetail(parameter: name, value: text, message: "Expected a time in YYYY-MM-DD HH:mm:ss.SSS format"))
            return nil
        }
        return time
    }

    /// An integer within `range`, `defaultValue` when absent.
    mutating func integer(_ name: String, in range: ClosedRange<Int>, default defaultValue: Int) -> Int {
        guard let text = parameters[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            problems.append(ValidationDetail(parameter: name, value: text,
                                             message: "Expected an integer from \(range.lowerBound) to \(range.upperBound)"))
            return defaultValue
        }
        return value
    }

    /// A sequence number (≥ 0), 0 when absent.
    mutating func sequenceNumber(_ name: String) -> UInt64 {
        guard let text = parameters[name] else { return 0 }
        guard let value = UInt64(text) else {
            problems.append(ValidationDetail(parameter: name, value: text, message: "Expected an integer ≥ 0"))
            return 0
        }
        return value
    }

    /// `true`/`false`, `defaultValue` when absent.
    mutating func boolean(_ name: String, default defaultValue: Bool = false) -> Bool {
        guard let text = parameters[name] else { return defaultValue }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default:
            problems.append(ValidationDetail(parameter: name, value: text, message: "Expected true or false"))
            return defaultValue
        }
    }

    /// A non-empty string.
    mutating func string(_ name: String) -> String? {
        guard let text = parameters[name] else { return nil }
        guard !text.isEmpty else {
            problems.append(ValidationDetail(parameter: name, value: text, message: "Must not be empty"))
            return nil
        }
        return text
    }

    /// One of an enum's raw values.
    mutating func value<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) -> T? where T.RawValue == String {
        guard let text = parameters[name] else { return nil }
        guard let value = T(rawValue: text) else {
            problems.append(ValidationDetail(parameter: name, value: text,
                                             message: "Expected one of " + T.allCases.map(\.rawValue).joined(separator: ", ")))
            return nil
        }
        return value
    }

    mutating func report(_ detail: ValidationDetail) { problems.append(detail) }

    /// Throws a 400 listing every problem, if any.
    func validate() throws {
        if !problems.isEmpty { throw APIError.validation(details: problems) }
    }
}

extension APIRequestContext {
    /// A path parameter (already percent-decoded by the router).
    func pathParameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else {
            throw APIError.validation(details: [ValidationDetail(parameter: name, message: "Required path parameter")])
        }
        return value.removingPercentEncoding ?? value
    }
}
