// Decodes wire frames (protocol/SPEC.md) straight from bytes: one pass to validate UTF-8, then a
// hand-written split on LF and TAB with decimals parsed in place into FixedDecimal. No Foundation,
// no intermediate String except where a String is the value (symbols are ≤ 15 bytes, so Swift keeps
// them inline without allocating).

/// The four fields of a frame's first line.
struct WireHeader: Hashable, Sendable {
    /// The type as written.
    var typeName: String { type == .unknown ? unknownTypeName : type.wireName }

    /// The protocol version (`TM1` → 1).
    var version: Int
    /// The message type, recognised from its bytes without building a String.
    var type: WireMessageType
    /// The type as written, kept only when it is not a known type (for the error message).
    var unknownTypeName: String
    /// The session the frame belongs to.
    var sessionID: String
    /// The frame's sequence number in its session and direction.
    var sequence: UInt64
}

/// Decodes wire frames into envelopes. Stateless; safe to call from any thread.
public enum WireDecoder {
    /// Decodes one EA → agent frame.
    public static func decodeTerminal(
        _ bytes: UnsafeRawBufferPointer
    ) throws(WireDecodingError) -> Envelope<TerminalMessage> {
        var strings = WireDecodingCache.singleFrame
        return try decodeTerminal(bytes, reusing: &strings)
    }

    /// Decodes one EA → agent frame, reusing the session id and symbol strings of earlier frames
    /// when the bytes repeat (consecutive frames mostly come from one terminal and one symbol).
    /// The result is the same as without the cache.
    public static func decodeTerminal(
        _ bytes: UnsafeRawBufferPointer,
        reusing strings: inout WireDecodingCache
    ) throws(WireDecodingError) -> Envelope<TerminalMessage> {
        // Nearly every frame is a TICKS frame in the plain form: one pass, no separate UTF-8 check.
        if let plain = FrameReader.plainTicks(bytes, strings: &strings) { return plain }
        var frame = try FrameReader(bytes, strings: &strings)
        let message: TerminalMessage
        do throws(WireDecodingError) {
            message = try frame.terminalMessage(symbols: &strings.symbols)
        } catch {
            throw frame.attributed(error)
        }
        return Envelope(sessionID: frame.header.sessionID, sequence: frame.header.sequence, message: message)
    }

    /// Decodes one EA → agent frame.
    public static func decodeTerminal(_ bytes: [UInt8]) throws(WireDecodingError) -> Envelope<TerminalMessage> {
        try withBytes(bytes) { buffer throws(WireDecodingError) in try decodeTerminal(buffer) }
    }

    /// Decodes one agent → EA frame.
    public static func decodeAgent(_ bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> Envelope<AgentMessage>
    {
        var strings = WireDecodingCache.singleFrame
        var frame = try FrameReader(bytes, strings: &strings)
        let message: AgentMessage
        do throws(WireDecodingError) {
            message = try frame.agentMessage()
        } catch {
            throw frame.attributed(error)
        }
        return Envelope(sessionID: frame.header.sessionID, sequence: frame.header.sequence, message: message)
    }

    /// Decodes one agent → EA frame.
    public static func decodeAgent(_ bytes: [UInt8]) throws(WireDecodingError) -> Envelope<AgentMessage> {
        try withBytes(bytes) { buffer throws(WireDecodingError) in try decodeAgent(buffer) }
    }

    private static func withBytes<Result>(
        _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WireDecodingError) -> Result
    ) throws(WireDecodingError) -> Result {
        // `withUnsafeBytes` is rethrows (untyped), so carry the typed error out by hand.
        let outcome: Swift.Result<Result, WireDecodingError> = bytes.withUnsafeBytes { buffer in
            do throws(WireDecodingError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try outcome.get()
    }
}

/// The message types of both directions, recognised from the header's bytes (a known type costs
/// no String building, and the decoder switches on a byte rather than comparing Strings).
enum WireMessageType: UInt8, Hashable, Sendable {
    case ticks, hello, snapshot, symbol, position, deal, report, heartbeat, bye, commandAcknowledgement
    case welcome, reject, resync, acknowledge, command
    /// Not a type of this protocol version.
    case unknown

    /// The type of the `count` bytes at `bytes`.
    @inline(__always)
    init(_ bytes: UnsafePointer<UInt8>, count: Int) {
        func matches(_ literal: StaticString) -> Bool {
            guard literal.utf8CodeUnitCount == count else { return false }
            let text = literal.utf8Start
            for index in 1..<count where text[index] != bytes[index] { return false }
            return true
        }
        guard count >= 3 else {
            self = .unknown
            return
        }
        switch bytes[0] {
        case UInt8(ascii: "T"): self = matches("TICKS") ? .ticks : .unknown
        case UInt8(ascii: "H"): self = matches("HEARTBEAT") ? .heartbeat : matches("HELLO") ? .hello : .unknown
        case UInt8(ascii: "S"): self = matches("SNAPSHOT") ? .snapshot : matches("SYMBOL") ? .symbol : .unknown
        case UInt8(ascii: "P"): self = matches("POSITION") ? .position : .unknown
        case UInt8(ascii: "D"): self = matches("DEAL") ? .deal : .unknown
        case UInt8(ascii: "R"):
            self = matches("REPORT") ? .report : matches("REJECT") ? .reject : matches("RESYNC") ? .resync : .unknown
        case UInt8(ascii: "B"): self = matches("BYE") ? .bye : .unknown
        case UInt8(ascii: "C"):
            self = matches("CMDACK") ? .commandAcknowledgement : matches("COMMAND") ? .command : .unknown
        case UInt8(ascii: "W"): self = matches("WELCOME") ? .welcome : .unknown
        case UInt8(ascii: "A"): self = matches("ACK") ? .acknowledge : .unknown
        default: self = .unknown
        }
    }

    /// The type as written on the wire.
    var wireName: String {
        switch self {
        case .ticks: "TICKS"
        case .hello: "HELLO"
        case .snapshot: "SNAPSHOT"
        case .symbol: "SYMBOL"
        case .position: "POSITION"
        case .deal: "DEAL"
        case .report: "REPORT"
        case .heartbeat: "HEARTBEAT"
        case .bye: "BYE"
        case .commandAcknowledgement: "CMDACK"
        case .welcome: "WELCOME"
        case .reject: "REJECT"
        case .resync: "RESYNC"
        case .acknowledge: "ACK"
        case .command: "COMMAND"
        case .unknown: ""
        }
    }
}

enum Ascii {
    /// The run of decimal digits at `index` (up to the first other byte or `end`): its value, with
    /// wrapping arithmetic, and its length; `index` moves past it. Callers bound the length (18
    /// digits always fit).
    @inline(__always)
    static func digitRun(_ base: UnsafePointer<UInt8>, from index: inout Int, end: Int) -> (value: UInt64, length: Int)
    {
        let start = index
        var value: UInt64 = 0
        while index < end {
            let digit = base[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            value = value &* 10 &+ UInt64(digit)
            index += 1
        }
        return (value, index - start)
    }

    static let tab = UInt8(ascii: "\t")
    static let lineFeed = UInt8(ascii: "\n")
    static let minus = UInt8(ascii: "-")
    static let tagQuote = UInt8(ascii: "Q")
    static let tagAccount = UInt8(ascii: "A")
    static let tagSymbol = UInt8(ascii: "S")
    static let tagPosition = UInt8(ascii: "P")
    static let tagPositionCount = UInt8(ascii: "N")
}
