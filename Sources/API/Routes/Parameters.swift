import Foundation
import Hummingbird
import TidemarkProtocol

/// Reads query parameters, collecting every bad one so a 400 lists them all at once.
struct QueryReader {
    private let parameters: [String: String]
    private(set) var problems: [ValidationDetail] = []

    init(_ request: Request) {
        self.init(query: request.uri.query)
    }

    /// Parameters of a raw query string (after the `?`), decoded as HTML forms encode them
    /// (`application/x-www-form-urlencoded`): `+` is a space, then `%XX` escapes. MetaApi's SDKs
    /// send broker times that way (Python's httpx and JavaScript's axios both write
    /// `startBrokerTime=2020-04-15+15:00:00.000`); `%20` and a literal `%2B` (a plus) work too.
    /// Where a name repeats, the last value counts.
    init(query: String?) {
        var parameters: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring, value: Substring
            if let equals = pair.firstIndex(of: "=") {
                name = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                name = pair
                value = ""
            }
            parameters[Self.formDecoded(name)] = Self.formDecoded(value)
        }
        self.parameters = parameters
    }

    /// `+` → space, then percent escapes; text with a malformed escape stays as sent (it then
    /// fails the parameter's own validation, naming the value).
    static func formDecoded(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// A broker time in any form MetaApi documents for its queries: `YYYY-MM-DD HH:mm:ss.SSS`
    /// (https://metaapi.cloud/docs/risk-management/restApi/api/getTrackerEvents/), or without the
    /// milliseconds (`YYYY-MM-DD HH:mm:ss`, as the SDKs' equity chart documents it), with a space
    /// or a `T` between date and time.
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
