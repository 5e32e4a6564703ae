import API
import Foundation

/// Checks JSON responses against protocol/openapi.json, for the subset of JSON Schema the document
/// uses: `$ref` to components, `type` (one or a list), `properties`, `required`, `items`, `enum`,
/// `minimum`/`maximum`/`exclusiveMinimum`, `pattern` and `format: date-time` (ISO 8601 in UTC).
/// Objects are closed: a property the schema does not list is a problem unless the schema says
/// `additionalProperties: true`, so a misnamed field (`account` for `accountId`) cannot slip by.
///
/// Written here rather than run through a Python validator: it is 150 lines, runs in-process on
/// every response of every test, and adds no tool to the machines; `jsonschema` would check the
/// same keywords.
public struct OpenAPIChecker: Sendable {
    /// The parsed document.
    public let document: JSONValue
    /// The document's text as checked in.
    public let rawText: String

    /// protocol/openapi.json of this checkout.
    public static let shared: OpenAPIChecker = {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("protocol/openapi.json")
        let data = try! Data(contentsOf: url)
        return OpenAPIChecker(document: try! JSONValue.parse(data), rawText: String(decoding: data, as: UTF8.self))
    }()

    /// Every operation as `METHOD /path/template`.
    public var operations: Set<String> {
        var result: Set<String> = []
        for (path, item) in document.objectValue?["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys where ["get", "post", "put", "delete"].contains(method) {
                result.insert("\(method.uppercased()) \(path)")
            }
        }
        return result
    }

    /// The problems of a response (empty when it conforms). `template` is the documented path.
    public func problems(method: String, template: String, status: Int, contentType: String?, body: Data) -> [String] {
        guard
            let operation = document.objectValue?["paths"]?.objectValue?[template]?.objectValue?[method.lowercased()]?
                .objectValue
        else {
            return ["\(method) \(template) is not in the document"]
        }
        guard let response = operation["responses"]?.objectValue?[String(status)]?.objectValue else {
            return ["\(method) \(template): status \(status) is not documented"]
        }
        guard let content = response["content"]?.objectValue else {
            return body.isEmpty
                ? [] : ["\(method) \(template) \(status): documented without a body, got \(body.count) bytes"]
        }
        if content["text/event-stream"] != nil {
            return contentType?.hasPrefix("text/event-stream") == true
                ? [] : ["expected text/event-stream, got \(contentType ?? "none")"]
        }
        guard let schema = content["application/json"]?.objectValue?["schema"] else { return ["no JSON schema"] }
        guard contentType?.hasPrefix("application/json") == true else {
            return ["expected application/json, got \(contentType ?? "none")"]
        }
        guard let value = try? JSONValue.parse(body) else { return ["body is not JSON"] }
        var problems: [String] = []
        check(value, against: schema, at: "$", problems: &problems)
        return problems.map { "\(method) \(template) \(status): \($0)" }
    }

    /// Checks a value against a named component schema (SSE data frames, webhook bodies).
    public func problems(of value: JSONValue, component: String) -> [String] {
        var problems: [String] = []
        check(
            value, against: .object(["$ref": .string("#/components/schemas/\(component)")]), at: "$",
            problems: &problems)
        return problems
    }

    private func resolve(_ schema: JSONValue) -> [String: JSONValue] {
        guard var object = schema.objectValue else { return [:] }
        while let reference = object["$ref"]?.stringValue {
            let name = String(reference.split(separator: "/").last ?? "")
            object =
                document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue?[name]?.objectValue ?? [:]
        }
        return object
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at path: String, problems: inout [String]) {
        let schema = resolve(schema)
        if let type = schema["type"] {
            let allowed: [String] =
                switch type {
                case .string(let name): [name]
                case .array(let names): names.compactMap(\.stringValue)
                default: []
                }
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                problems.append("\(path): expected \(allowed.joined(separator: "|")), got \(value.detailText)")
                return
            }
        }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            problems.append("\(path): \(value.detailText) is not one of the enum values")
        }
        if let number = value.numberValue {
            if let minimum = schema["minimum"]?.numberValue, number < minimum {
                problems.append("\(path): \(number) < minimum \(minimum)")
            }
            if let maximum = schema["maximum"]?.numberValue, number > maximum {
                problems.append("\(path): \(number) > maximum \(maximum)")
            }
            if let bound = schema["exclusiveMinimum"]?.numberValue, number <= bound {
                problems.append("\(path): \(number) ≤ \(bound)")
            }
        }
        if case .string(let text) = value, schema["format"]?.stringValue == "date-time", !Self.isUTCInstant(text) {
            problems.append("\(path): \"\(text)\" is not an ISO 8601 instant in UTC")
        }
        if case .string(let text) = value, let pattern = schema["pattern"]?.stringValue,
            let regex = try? Regex(pattern), (try? regex.firstMatch(in: text)) == nil
        {
            problems.append("\(path): \"\(text)\" does not match \(pattern)")
        }
        if case .object(let members) = value {
            var required: [String] = []
            if case .array(let keys)? = schema["required"] { required = keys.compactMap(\.stringValue) }
            for key in required where members[key] == nil || members[key] == .null {
                problems.append("\(path): required property \(key) is missing")
            }
            if let properties = schema["properties"]?.objectValue, schema["additionalProperties"] != .bool(true) {
                for key in members.keys.sorted() where properties[key] == nil {
                    problems.append("\(path): property \(key) is not in the schema")
                }
            }
            for (key, propertySchema) in schema["properties"]?.objectValue ?? [:] {
                if let member = members[key], member != .null {
                    check(member, against: propertySchema, at: "\(path).\(key)", problems: &problems)
                }
            }
        }
        if case .array(let items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                check(item, against: itemSchema, at: "\(path)[\(index)]", problems: &problems)
            }
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
            ("number", .number):
            true
        case ("integer", .number(let number)):
            number == number.rounded(0, .plain)
        default:
            false
        }
    }

    /// `YYYY-MM-DDTHH:mm:ss[.fff]Z`.
    public static func isUTCInstant(_ text: String) -> Bool {
        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/) != nil
    }
}

extension Decimal {
    /// Rounded to `scale` fractional digits.
    fileprivate func rounded(_ scale: Int, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, scale, mode)
        return result
    }
}
