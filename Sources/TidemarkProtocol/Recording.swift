// The canonical JSON form of messages and the JSON Lines recording codec (protocol/SPEC.md §8).
// JSON is for recordings, vectors and logs, not the per-tick hot path: Foundation's coder is fine here.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One line of a recording.
public enum RecordingLine: Hashable, Sendable {
    /// A message from a terminal, with the account it belongs to and, when known, its envelope.
    case message(account: AccountID, sessionID: String?, sequence: UInt64?, TerminalMessage)
    /// A line of any other `type` (e.g. `declare`), handed through untouched: the line's exact bytes.
    case directive(type: String, json: [UInt8])
}

/// Why a recording line could not be read.
public struct RecordingError: TidemarkError {
    private enum Code: String, Hashable, Sendable {
        case notJSONObject = "not_json_object"
        case missingType = "missing_type"
        case missingAccount = "missing_account"
        case missingPayload = "missing_payload"
        case badPayload = "bad_payload"
    }

    private var codeValue: Code
    /// What exactly was wrong (the decoder's words, or the missing key).
    public private(set) var detail: String
    /// The 1-based line number in the recording, when read through ``RecordingReader``.
    public internal(set) var line: Int?

    private init(_ code: Code, _ detail: String = "") {
        codeValue = code
        self.detail = detail
    }

    /// A short label: `not_json_object`, `missing_type`, `missing_account`, `missing_payload`, `bad_payload`.
    public var code: String { codeValue.rawValue }

    public var description: String {
        (line.map { "line \($0): " } ?? "") + code + (detail.isEmpty ? "" : ": " + detail)
    }

    /// The line is not a JSON object.
    public static let notJSONObject = Self(.notJSONObject)
    /// The object has no string `type`.
    public static let missingType = Self(.missingType)
    /// A message line without a string `account`.
    public static let missingAccount = Self(.missingAccount)
    /// A message line without its payload key.
    public static let missingPayload = Self(.missingPayload)
    /// A payload that does not decode (wrong shape, out-of-range number, unknown enum value).
    public static let badPayload = Self(.badPayload)

    static func notJSONObject(_ detail: String) -> Self { Self(.notJSONObject, detail) }
    static func missingPayload(_ key: String) -> Self { Self(.missingPayload, key) }
    static func badPayload(_ detail: String) -> Self { Self(.badPayload, detail) }
}

/// Encodes and decodes the canonical JSON form of messages.
public enum RecordingCodec {
    /// The `type` names of terminal messages in recordings.
    public static let messageTypes: Set<String> = [
        "hello", "snapshot", "symbol", "ticks", "position", "deal", "report", "heartbeat", "bye", "command_ack",
    ]

    private static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The canonical JSON of `line`, without the line feed. Directives come back byte for byte.
    public static func encode(_ line: RecordingLine) -> [UInt8] {
        switch line {
        case .directive(_, let json):
            return json
        case .message(let account, let sessionID, let sequence, let message):
            var object = TerminalLine(account: account, session: sessionID, seq: sequence, type: message.recordingType)
            switch message {
            case .hello(let hello): object.hello = hello
            case .snapshot(let snapshot): object.snapshot = snapshot
            case .symbol(let symbol): object.symbol = symbol
            case .ticks(let ticks): object.ticks = ticks.array
            case .position(let update): object.position = update
            case .deal(let deal): object.deal = deal
            case .report(let report): object.report = report
            case .heartbeat(let time): object.time = time
            case .bye(let reason): object.reason = reason
            case .commandAcknowledgement(let ack): object.ack = ack
            }
            return encodeObject(object)
        }
    }

    /// Decodes one line (without its line feed).
    public static func decode(_ bytes: some Collection<UInt8>) throws(RecordingError) -> RecordingLine {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        let head: LineHead
        do {
            head = try decoder.decode(LineHead.self, from: data)
        } catch {
            throw headError(error)
        }
        guard messageTypes.contains(head.type) else { return .directive(type: head.type, json: Array(bytes)) }
        let object: TerminalLine
        do {
            object = try decoder.decode(TerminalLine.self, from: data)
        } catch DecodingError.keyNotFound(let key, let context) where context.codingPath.isEmpty && key.stringValue == "account" {
            throw .missingAccount
        } catch {
            throw .badPayload(describe(error))
        }
        func require<Value>(_ value: Value?, _ key: String) throws(RecordingError) -> Value {
            guard let value else { throw .missingPayload(key) }
            return value
        }
        let message: TerminalMessage
        switch head.type {
        case "hello": message = .hello(try require(object.hello, "hello"))
        case "snapshot": message = .snapshot(try require(object.snapshot, "snapshot"))
        case "symbol": message = .symbol(try require(object.symbol, "symbol"))
        case "ticks": message = .ticks(try require(object.ticks, "ticks"))
        case "position": message = .position(try require(object.position, "position"))
        case "deal": message = .deal(try require(object.deal, "deal"))
        case "report": message = .report(try require(object.report, "report"))
        case "heartbeat": message = .heartbeat(try require(object.time, "time"))
        case "bye": message = .bye(reason: try require(object.reason, "reason"))
        default: message = .commandAcknowledgement(try require(object.ack, "ack"))
        }
        return .message(account: object.account, sessionID: object.session, sequence: object.seq, message)
    }

    /// The canonical JSON of an agent → EA envelope (for test vectors and logs), without the line feed.
    public static func encode(agent envelope: Envelope<AgentMessage>) -> [UInt8] {
        var object = AgentLine(session: envelope.sessionID, seq: envelope.sequence, type: envelope.message.recordingType)
        switch envelope.message {
        case .welcome(let interval, let version):
            object.heartbeatIntervalMilliseconds = interval
            object.agentVersion = version
        case .reject(let reason, let message):
            object.reason = reason.rawValue
            object.message = message
        case .resync(let last, let reason):
            object.lastSequence = last
            object.reason = reason
        case .acknowledge(let sequence):
            object.sequence = sequence
        case .command(let command):
            object.command = command
        case .heartbeat:
            break
        }
        return encodeObject(object)
    }

    /// Decodes the canonical JSON of an agent → EA envelope.
    public static func decodeAgent(_ bytes: some Collection<UInt8>) throws(RecordingError) -> Envelope<AgentMessage> {
        let object: AgentLine
        do {
            object = try JSONDecoder().decode(AgentLine.self, from: Data(bytes))
        } catch {
            throw headError(error)
        }
        func require<Value>(_ value: Value?, _ key: String) throws(RecordingError) -> Value {
            guard let value else { throw .missingPayload(key) }
            return value
        }
        let message: AgentMessage
        switch object.type {
        case "welcome":
            message = .welcome(heartbeatIntervalMilliseconds: try require(object.heartbeatIntervalMilliseconds, "heartbeatIntervalMilliseconds"),
                               agentVersion: try require(object.agentVersion, "agentVersion"))
        case "reject":
            guard let reason = RejectReason(rawValue: try require(object.reason, "reason")) else { throw .badPayload("unknown reject reason") }
            message = .reject(reason, message: try require(object.message, "message"))
        case "resync":
            message = .resync(lastSequence: try require(object.lastSequence, "lastSequence"), reason: try require(object.reason, "reason"))
        case "ack": message = .acknowledge(sequence: try require(object.sequence, "sequence"))
        case "command": message = .command(try require(object.command, "command"))
        case "heartbeat": message = .heartbeat
        default: throw .badPayload("unknown agent message type \(object.type)")
        }
        return Envelope(sessionID: try require(object.session, "session"), sequence: try require(object.seq, "seq"), message: message)
    }

    private static func encodeObject(_ object: some Encodable) -> [UInt8] {
        do {
            return Array(try makeEncoder().encode(object))
        } catch {
            // Every field is a string, an integer, a finite number or a Bool: encoding cannot fail.
            preconditionFailure("canonical JSON encoding failed: \(error)")
        }
    }

    private static func headError(_ error: any Error) -> RecordingError {
        if case DecodingError.keyNotFound(let key, let context) = error, context.codingPath.isEmpty, key.stringValue == "type" {
            return .missingType
        }
        if case DecodingError.typeMismatch(_, let context) = error, context.codingPath.isEmpty {
            return .notJSONObject("not a JSON object")
        }
        if case DecodingError.dataCorrupted(let context) = error, context.codingPath.isEmpty {
            return .notJSONObject(context.debugDescription)
        }
        return .badPayload(describe(error))
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key \(([path(context)] + [key.stringValue]).filter { !$0.isEmpty }.joined(separator: "."))"
        case .typeMismatch(_, let context): return "wrong type at \(path(context))"
        case .valueNotFound(_, let context): return "null at \(path(context))"
        case .dataCorrupted(let context): return "invalid value at \(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

extension TerminalMessage {
    /// The `type` of this message in recordings (`ticks`, `command_ack`).
    public var recordingType: String {
        switch self {
        case .hello: "hello"
        case .snapshot: "snapshot"
        case .symbol: "symbol"
        case .ticks: "ticks"
        case .position: "position"
        case .deal: "deal"
        case .report: "report"
        case .heartbeat: "heartbeat"
        case .bye: "bye"
        case .commandAcknowledgement: "command_ack"
        }
    }
}

extension AgentMessage {
    /// The `type` of this message in its JSON form (`welcome`, `ack`).
    public var recordingType: String {
        switch self {
        case .welcome: "welcome"
        case .reject: "reject"
        case .resync: "resync"
        case .acknowledge: "ack"
        case .command: "command"
        case .heartbeat: "heartbeat"
        }
    }
}

/// The keys of a terminal message line; absent optionals are left out when encoding.
private struct TerminalLine: Codable {
    var account: AccountID
    var session: String?
    var seq: UInt64?
    var type: String
    var hello: Hello?
    var snapshot: Snapshot?
    var symbol: SymbolSpec?
    var ticks: [Tick]?
    var position: PositionUpdate?
    var deal: Deal?
    var report: AccountReport?
    var time: BrokerTime?
    var reason: String?
    var ack: CommandAcknowledgement?

    init(account: AccountID, session: String?, seq: UInt64?, type: String) {
        self.account = account
        self.session = session
        self.seq = seq
        self.type = type
    }
}

private struct AgentLine: Codable {
    var session: String?
    var seq: UInt64?
    var type: String
    var heartbeatIntervalMilliseconds: Int?
    var agentVersion: String?
    var reason: String?
    var message: String?
    var lastSequence: UInt64?
    var sequence: UInt64?
    var command: Command?

    init(session: String, seq: UInt64, type: String) {
        self.session = session
        self.seq = seq
        self.type = type
    }
}

private struct LineHead: Decodable { var type: String }

// MARK: - Reading a whole recording

/// Splits a recording into lines and decodes each; a bad line is an error value with its line
/// number, and reading goes on. Blank lines are skipped.
public struct RecordingReader: Sequence {
    /// One non-blank line: its number and what it decoded to.
    public struct Entry: Sendable {
        /// 1-based.
        public var lineNumber: Int
        /// The decoded line, or why it could not be decoded.
        public var result: Result<RecordingLine, RecordingError>
    }

    private let bytes: [UInt8]

    /// Reads the recording in `bytes` (UTF-8, LF-separated; a CR before the LF is tolerated).
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// An iterator over the non-blank lines.
    public func makeIterator() -> Iterator { Iterator(bytes: bytes) }

    /// Walks the recording line by line.
    public struct Iterator: IteratorProtocol {
        private let bytes: [UInt8]
        private var position = 0
        private var lineNumber = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        /// The next non-blank line, or nil at the end.
        public mutating func next() -> Entry? {
            while position < bytes.count {
                lineNumber += 1
                let start = position
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                position = end + 1
                var lineEnd = end
                if lineEnd > start, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let line = bytes[start..<lineEnd]
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                do throws(RecordingError) {
                    return Entry(lineNumber: lineNumber, result: .success(try RecordingCodec.decode(line)))
                } catch {
                    var numbered = error
                    numbered.line = lineNumber
                    return Entry(lineNumber: lineNumber, result: .failure(numbered))
                }
            }
            return nil
        }
    }
}

/// Writes recording lines as JSON Lines (each line's canonical JSON and a line feed).
public enum RecordingWriter {
    /// The whole recording's bytes.
    public static func encode(_ lines: [RecordingLine]) -> [UInt8] {
        var bytes: [UInt8] = []
        for line in lines {
            bytes.append(contentsOf: RecordingCodec.encode(line))
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
