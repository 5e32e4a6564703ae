// Decodes wire frames (protocol/SPEC.md) straight from bytes: one pass to validate UTF-8, then a
// hand-written split on LF and TAB with decimals parsed in place into FixedDecimal. No Foundation,
// no intermediate String except where a String is the value (symbols are ≤ 15 bytes, so Swift keeps
// them inline without allocating).

/// The four fields of a frame's first line.
struct WireHeader: Hashable, Sendable {
    /// The protocol version (`TM1` → 1).
    var version: Int
    /// The message type, as written (`TICKS`).
    var type: String
    /// The session the frame belongs to.
    var sessionID: String
    /// The frame's sequence number in its session and direction.
    var sequence: UInt64
}

/// Decodes wire frames into envelopes. Stateless; safe to call from any thread.
public enum WireDecoder {
    /// Decodes one EA → agent frame.
    public static func decodeTerminal(_ bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> Envelope<TerminalMessage> {
        var strings = WireDecodingCache()
        return try decodeTerminal(bytes, reusing: &strings)
    }

    /// Decodes one EA → agent frame, reusing the session id and symbol strings of earlier frames
    /// when the bytes repeat (consecutive frames mostly come from one terminal and one symbol).
    /// The result is the same as without the cache.
    public static func decodeTerminal(_ bytes: UnsafeRawBufferPointer,
                                      reusing strings: inout WireDecodingCache) throws(WireDecodingError) -> Envelope<TerminalMessage> {
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
    public static func decodeAgent(_ bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> Envelope<AgentMessage> {
        var strings = WireDecodingCache()
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

// MARK: - Frame

/// Walks one frame line by line. Positions are offsets into `base`.
struct FrameReader {
    private let base: UnsafePointer<UInt8>
    private let count: Int
    /// Start of the next unread line.
    private var position: Int
    /// 1-based number of the last line read.
    private var lineNumber = 1
    private(set) var header: WireHeader

    init(_ bytes: UnsafeRawBufferPointer, strings: inout WireDecodingCache) throws(WireDecodingError) {
        guard let address = bytes.baseAddress, bytes.count > 0 else { throw .truncated }
        base = address.assumingMemoryBound(to: UInt8.self)
        count = bytes.count

        // The version first: a frame of another version may have any layout after `TMn<TAB>`.
        guard count >= 3, base[0] == UInt8(ascii: "T"), base[1] == UInt8(ascii: "M") else {
            throw .badHeader("must start with TM")
        }
        var index = 2
        var version = 0
        while index < count, base[index] &- UInt8(ascii: "0") < 10, index < 8 {
            version = version * 10 + Int(base[index] &- UInt8(ascii: "0"))
            index += 1
        }
        guard index > 2, index < count, base[index] == Ascii.tab else { throw .badHeader("bad version") }
        let versionEnd = index

        guard Self.isValidUTF8(base, count) else {
            throw version == protocolVersion ? .notUTF8 : .unsupportedVersion("TM\(version)")
        }
        var headerEnd = versionEnd
        while headerEnd < count, base[headerEnd] != Ascii.lineFeed { headerEnd += 1 }

        var fields = FieldCursor(base: base, position: versionEnd + 1, end: headerEnd, line: 1)
        let typeRange = fields.next()
        let sessionRange = fields.next()
        let sequenceRange = fields.next()
        let frameBytes = UnsafeBufferPointer(start: base, count: count)
        let sessionID = sessionRange.map { strings.sessionIDs.string(for: UnsafeBufferPointer(rebasing: frameBytes[$0])) }
        let sequence = sequenceRange.flatMap { Self.parseUnsigned(frameBytes.baseAddress!, $0) }
        let type = typeRange.map { Self.typeName(UnsafeBufferPointer(rebasing: frameBytes[$0])) } ?? ""

        header = WireHeader(version: version, type: type, sessionID: sessionID ?? "", sequence: sequence ?? 0)
        position = min(headerEnd + 1, count)

        func fail(_ error: WireDecodingError) -> WireDecodingError {
            var error = error
            error.sessionID = sessionID
            error.sequence = sequence
            error.line = 1
            return error
        }
        guard version == protocolVersion else { throw fail(.unsupportedVersion("TM\(version)")) }
        guard headerEnd < count else { throw fail(.truncated) }
        guard let typeRange, !typeRange.isEmpty else { throw fail(.badHeader("empty type")) }
        guard let sessionRange = sessionRange, (1...64).contains(sessionRange.count) else { throw fail(.badHeader("session id must be 1–64 bytes")) }
        guard let sequence, sequence >= 1 else { throw fail(.badHeader("sequence must be an integer ≥ 1")) }
        guard fields.isAtEnd else { throw fail(.badHeader("header has more than four fields")) }
        guard base[count - 1] == Ascii.lineFeed else { throw fail(.truncated) }
    }

    func attributed(_ error: WireDecodingError) -> WireDecodingError {
        var error = error
        error.sessionID = header.sessionID
        error.sequence = header.sequence
        if error.line == nil { error.line = lineNumber }
        return error
    }

    private var isAtEnd: Bool { position >= count }

    /// A reader for the next record line, or nil at the end of the frame. The reader finds the
    /// line's end as it reads the fields (one pass over the bytes); call ``advance(past:)`` after
    /// the record's `finish()`.
    private mutating func nextRecord() -> RecordReader? {
        guard position < count else { return nil }
        lineNumber += 1
        return RecordReader(base: base, start: position, end: count, line: lineNumber)
    }

    /// Moves to the line after a finished record.
    private mutating func advance(past record: RecordReader) {
        position = record.nextLineStart
    }

    /// The next record, which must carry `tag`.
    private mutating func requireRecord(_ tag: UInt8, of type: StaticString) throws(WireDecodingError) -> RecordReader {
        guard var record = nextRecord() else { throw .missingRecord("\(type) needs a \(Character(Unicode.Scalar(tag))) record") }
        try record.expectTag(tag)
        return record
    }

    private func expectEnd(of type: StaticString) throws(WireDecodingError) {
        guard isAtEnd else { throw .unexpectedRecord("\(type) has no more records") }
    }

    // MARK: EA → agent

    mutating func terminalMessage(symbols: inout SymbolCache) throws(WireDecodingError) -> TerminalMessage {
        switch header.type {
        case "TICKS":
            var ticks: [Tick] = []
            ticks.reserveCapacity(max(1, (count - position) / 36))
            while var record = nextRecord() {
                try record.expectTag(Ascii.tagQuote)
                ticks.append(try record.quote(symbols: &symbols))
                advance(past: record)
            }
            guard !ticks.isEmpty else { throw .missingRecord("TICKS needs at least one Q record") }
            return .ticks(ticks)
        case "HELLO":
            var record = try requireRecord(UInt8(ascii: "I"), of: "HELLO")
            let hello = try record.hello(sessionID: header.sessionID)
            advance(past: record)
            try expectEnd(of: "HELLO")
            return .hello(hello)
        case "SNAPSHOT":
            var accountRecord = try requireRecord(Ascii.tagAccount, of: "SNAPSHOT")
            let account = try accountRecord.account()
            advance(past: accountRecord)
            var symbols: [SymbolSpec] = [], positions: [Position] = [], quotes: [Tick] = []
            while var record = nextRecord() {
                switch record.tag {
                case Ascii.tagSymbol: symbols.append(try record.symbol())
                case Ascii.tagPosition: positions.append(try record.position())
                case Ascii.tagQuote: quotes.append(try record.quote())
                default: throw .unexpectedRecord("SNAPSHOT takes S, P and Q records after A")
                }
                advance(past: record)
            }
            return .snapshot(Snapshot(account: account, symbols: symbols, positions: positions, quotes: quotes))
        case "SYMBOL":
            var record = try requireRecord(Ascii.tagSymbol, of: "SYMBOL")
            let symbol = try record.symbol()
            advance(past: record)
            try expectEnd(of: "SYMBOL")
            return .symbol(symbol)
        case "POSITION":
            var changeRecord = try requireRecord(UInt8(ascii: "C"), of: "POSITION")
            let change: PositionChange = try changeRecord.enumeration("C.change")
            let time = try changeRecord.time("C.time")
            try changeRecord.finish()
            advance(past: changeRecord)
            var positionRecord = try requireRecord(Ascii.tagPosition, of: "POSITION")
            let position = try positionRecord.position()
            advance(past: positionRecord)
            try expectEnd(of: "POSITION")
            return .position(PositionUpdate(change: change, time: time, position: position))
        case "DEAL":
            var record = try requireRecord(UInt8(ascii: "D"), of: "DEAL")
            let deal = try record.deal()
            advance(past: record)
            try expectEnd(of: "DEAL")
            return .deal(deal)
        case "REPORT":
            var record = try requireRecord(Ascii.tagAccount, of: "REPORT")
            let report = try record.account()
            advance(past: record)
            try expectEnd(of: "REPORT")
            return .report(report)
        case "HEARTBEAT":
            var record = try requireRecord(UInt8(ascii: "H"), of: "HEARTBEAT")
            let time = try record.time("H.time")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "HEARTBEAT")
            return .heartbeat(time)
        case "BYE":
            var record = try requireRecord(UInt8(ascii: "B"), of: "BYE")
            let reason = try record.string("B.reason")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "BYE")
            return .bye(reason: reason)
        case "CMDACK":
            var record = try requireRecord(UInt8(ascii: "K"), of: "CMDACK")
            let commandID = try record.integer("K.commandID", minimum: 0)
            let time = try record.time("K.time")
            let succeeded = try record.boolean("K.succeeded")
            let detail = try record.string("K.detail")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "CMDACK")
            return .commandAcknowledgement(CommandAcknowledgement(commandID: commandID, time: time, succeeded: succeeded, detail: detail))
        default:
            throw .unknownType(header.type)
        }
    }

    // MARK: agent → EA

    mutating func agentMessage() throws(WireDecodingError) -> AgentMessage {
        switch header.type {
        case "WELCOME":
            var record = try requireRecord(UInt8(ascii: "W"), of: "WELCOME")
            let interval = try record.integer("W.heartbeatIntervalMilliseconds", minimum: 1)
            let version = try record.string("W.agentVersion")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "WELCOME")
            guard let interval = Int(exactly: interval) else { throw .badField("W.heartbeatIntervalMilliseconds") }
            return .welcome(heartbeatIntervalMilliseconds: interval, agentVersion: version)
        case "REJECT":
            var record = try requireRecord(UInt8(ascii: "R"), of: "REJECT")
            let reason: RejectReason = try record.enumeration("R.reason")
            let message = try record.string("R.message")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "REJECT")
            return .reject(reason, message: message)
        case "RESYNC":
            var record = try requireRecord(UInt8(ascii: "Y"), of: "RESYNC")
            let last = try record.unsigned("Y.lastSequence")
            let reason = try record.string("Y.reason")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "RESYNC")
            return .resync(lastSequence: last, reason: reason)
        case "ACK":
            var record = try requireRecord(UInt8(ascii: "N"), of: "ACK")
            let sequence = try record.unsigned("N.sequence")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "ACK")
            return .acknowledge(sequence: sequence)
        case "COMMAND":
            var record = try requireRecord(UInt8(ascii: "X"), of: "COMMAND")
            let id = try record.integer("X.id", minimum: 0)
            let kind: CommandKind = try record.enumeration("X.kind")
            let reason = try record.string("X.reason")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "COMMAND")
            return .command(Command(id: id, kind: kind, reason: reason))
        case "HEARTBEAT":
            try expectEnd(of: "HEARTBEAT")
            return .heartbeat
        default:
            throw .unknownType(header.type)
        }
    }

    // MARK: UTF-8 and numbers

    /// The message types of the protocol, as literals: a known type costs no String building.
    private static let knownTypes: [(bytes: StaticString, name: String)] = [
        ("TICKS", "TICKS"), ("HEARTBEAT", "HEARTBEAT"), ("HELLO", "HELLO"), ("SNAPSHOT", "SNAPSHOT"),
        ("SYMBOL", "SYMBOL"), ("POSITION", "POSITION"), ("DEAL", "DEAL"), ("REPORT", "REPORT"), ("BYE", "BYE"),
        ("CMDACK", "CMDACK"), ("WELCOME", "WELCOME"), ("REJECT", "REJECT"), ("RESYNC", "RESYNC"), ("ACK", "ACK"),
        ("COMMAND", "COMMAND"),
    ]

    /// The header's type field as a String (equal to decoding the bytes).
    static func typeName(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        for known in knownTypes where known.bytes.utf8CodeUnitCount == bytes.count {
            let literal = known.bytes.utf8Start
            var index = 0
            while index < bytes.count, literal[index] == bytes[index] { index += 1 }
            if index == bytes.count { return known.name }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) and no NUL byte.
    static func isValidUTF8(_ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var index = 0
        // Eight ASCII bytes at a time: no high bit set and no zero byte.
        let raw = UnsafeRawPointer(base)
        while index + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let highBits: UInt64 = 0x8080_8080_8080_8080
            let hasZeroByte = (word &- 0x0101_0101_0101_0101) & ~word & highBits
            if word & highBits != 0 || hasZeroByte != 0 { break }
            index += 8
        }
        while index < count {
            let lead = base[index]
            if lead < 0x80 {
                if lead == 0 { return false }
                index += 1
                continue
            }
            let length: Int
            var lowerBound: UInt8 = 0x80, upperBound: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lowerBound = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upperBound = 0x9F
            case 0xF0: length = 4; lowerBound = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upperBound = 0x8F
            default: return false
            }
            guard index + length <= count else { return false }
            let second = base[index + 1]
            guard second >= lowerBound, second <= upperBound else { return false }
            for offset in 2..<max(2, length) where base[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }

    /// A base-10 unsigned integer without sign, or nil.
    static func parseUnsigned(_ base: UnsafePointer<UInt8>, _ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty, range.count <= 20 else { return nil }
        var value: UInt64 = 0
        if range.count <= 19 {
            // 19 digits cannot overflow UInt64: the common case needs no checks.
            for index in range {
                let digit = base[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value &* 10 &+ UInt64(digit)
            }
            return value
        }
        for index in range {
            let digit = base[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}

enum Ascii {
    static let tab = UInt8(ascii: "\t")
    static let lineFeed = UInt8(ascii: "\n")
    static let minus = UInt8(ascii: "-")
    static let tagQuote = UInt8(ascii: "Q")
    static let tagAccount = UInt8(ascii: "A")
    static let tagSymbol = UInt8(ascii: "S")
    static let tagPosition = UInt8(ascii: "P")
}

// MARK: - Fields

/// Splits one line on TAB, stopping at its LF (or at `end`): the fields and the line's end are
/// found in the same pass.
struct FieldCursor {
    let base: UnsafePointer<UInt8>
    /// Start of the next field; after the last field, the start of the next line.
    private(set) var position: Int
    let end: Int
    let line: Int
    private(set) var isAtEnd = false

    init(base: UnsafePointer<UInt8>, position: Int, end: Int, line: Int) {
        self.base = base; self.position = position; self.end = end; self.line = line
    }

    /// The next field's byte range, or nil when the line has no more fields.
    @inline(__always)
    mutating func next() -> Range<Int>? {
        guard !isAtEnd else { return nil }
        let start = position
        var index = start
        while index < end {
            let byte = base[index]
            if byte == Ascii.tab || byte == Ascii.lineFeed { break }
            index += 1
        }
        if index >= end || base[index] == Ascii.lineFeed { isAtEnd = true }
        position = index + 1
        return start..<index
    }
}

/// Reads the fields of one record, validating each as it goes.
struct RecordReader {
    private var fields: FieldCursor
    /// The record's tag byte (0 when the tag is not one byte long).
    let tag: UInt8

    init(base: UnsafePointer<UInt8>, start: Int, end: Int, line: Int) {
        fields = FieldCursor(base: base, position: start, end: end, line: line)
        let tagRange = fields.next()!  // a line always has a first field, maybe empty
        // 0: no tag at all (an empty line); 0xFF: a tag longer than one byte.
        tag = tagRange.isEmpty ? 0 : tagRange.count == 1 ? base[tagRange.lowerBound] : 0xFF
    }

    private var base: UnsafePointer<UInt8> { fields.base }

    /// Where the next line starts; meaningful once the record is finished.
    var nextLineStart: Int { fields.position }

    private func failure(_ error: WireDecodingError) -> WireDecodingError {
        var error = error
        error.line = fields.line
        return error
    }

    mutating func expectTag(_ expected: UInt8) throws(WireDecodingError) {
        guard tag == expected else {
            let name = Character(Unicode.Scalar(expected))
            if tag == 0 { throw failure(.missingRecord("expected a \(name) record")) }
            throw failure(.unexpectedRecord("expected a \(name) record, found " + (tag == 0xFF ? "a long tag" : String(Character(Unicode.Scalar(tag))))))
        }
    }

    /// Every field was read: more fields are an error.
    mutating func finish() throws(WireDecodingError) {
        guard fields.next() == nil else { throw failure(.fieldCount("record \(Character(Unicode.Scalar(tag))) has too many fields")) }
    }

    @inline(__always)
    private mutating func field(_ name: StaticString) throws(WireDecodingError) -> Range<Int> {
        guard let range = fields.next() else { throw failure(.fieldCount("record has too few fields, \(name) missing")) }
        return range
    }

    private func bytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    @inline(__always)
    mutating func decimal(_ name: StaticString) throws(WireDecodingError) -> FixedDecimal {
        let range = try field(name)
        guard let value = FixedDecimal(ascii: bytes(range)) else { throw failure(.badField("\(name)")) }
        return value
    }

    /// A decimal that must be > 0.
    @inline(__always)
    mutating func positiveDecimal(_ name: StaticString) throws(WireDecodingError) -> FixedDecimal {
        let value = try decimal(name)
        guard value.units > 0 else { throw failure(.absurdValue("\(name) must be > 0")) }
        return value
    }

    /// A decimal that must be ≥ 0.
    mutating func nonNegativeDecimal(_ name: StaticString) throws(WireDecodingError) -> FixedDecimal {
        let value = try decimal(name)
        guard value.units >= 0 else { throw failure(.absurdValue("\(name) must be ≥ 0")) }
        return value
    }

    /// A signed base-10 Int64 of at least `minimum`.
    mutating func integer(_ name: StaticString, minimum: Int64 = .min) throws(WireDecodingError) -> Int64 {
        let range = try field(name)
        var digits = range
        let negative = !range.isEmpty && base[range.lowerBound] == Ascii.minus
        if negative { digits = range.lowerBound + 1..<range.upperBound }
        guard let magnitude = FrameReader.parseUnsigned(base, digits) else { throw failure(.badField("\(name)")) }
        let value: Int64
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw failure(.badField("\(name)")) }
            value = magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        } else {
            guard magnitude <= UInt64(Int64.max) else { throw failure(.badField("\(name)")) }
            value = Int64(magnitude)
        }
        guard value >= minimum else { throw failure(.absurdValue("\(name) must be ≥ \(minimum)")) }
        return value
    }

    /// An Int within `range`.
    mutating func smallInteger(_ name: StaticString, in range: ClosedRange<Int>) throws(WireDecodingError) -> Int {
        let value = try integer(name)
        guard value >= range.lowerBound, value <= range.upperBound else {
            throw failure(.absurdValue("\(name) must be in \(range.lowerBound)…\(range.upperBound)"))
        }
        return Int(value)
    }

    mutating func unsigned(_ name: StaticString) throws(WireDecodingError) -> UInt64 {
        let range = try field(name)
        guard let value = FrameReader.parseUnsigned(base, range) else { throw failure(.badField("\(name)")) }
        return value
    }

    @inline(__always)
    mutating func time(_ name: StaticString) throws(WireDecodingError) -> BrokerTime {
        // Inline fast path: times are plain digits.
        let range = try field(name)
        guard let value = FrameReader.parseUnsigned(base, range), value <= UInt64(Int64.max) else {
            if !range.isEmpty, base[range.lowerBound] == Ascii.minus, range.count > 1,
               FrameReader.parseUnsigned(base, range.lowerBound + 1..<range.upperBound) != nil {
                throw failure(.absurdValue("\(name) must be ≥ 0"))
            }
            throw failure(.badField("\(name)"))
        }
        return BrokerTime(milliseconds: Int64(value))
    }

    mutating func boolean(_ name: StaticString) throws(WireDecodingError) -> Bool {
        let range = try field(name)
        guard range.count == 1 else { throw failure(.badField("\(name)")) }
        switch base[range.lowerBound] {
        case UInt8(ascii: "1"): return true
        case UInt8(ascii: "0"): return false
        default: throw failure(.badField("\(name)"))
        }
    }

    /// Any UTF-8 text (already validated for the whole frame).
    @inline(__always)
    mutating func string(_ name: StaticString) throws(WireDecodingError) -> String {
        let range = try field(name)
        return String(decoding: bytes(range), as: UTF8.self)
    }

    @inline(__always)
    mutating func nonEmptyString(_ name: StaticString) throws(WireDecodingError) -> String {
        let range = try field(name)
        guard !range.isEmpty else { throw failure(.badField("\(name) must not be empty")) }
        return String(decoding: bytes(range), as: UTF8.self)
    }

    mutating func enumeration<Value: RawRepresentable<String>>(_ name: StaticString) throws(WireDecodingError) -> Value {
        let text = try string(name)
        guard let value = Value(rawValue: text) else { throw failure(.badField("\(name)")) }
        return value
    }

    // MARK: records

    /// `Q symbol time bid ask`.
    mutating func quote() throws(WireDecodingError) -> Tick {
        var symbols = SymbolCache()
        return try quote(symbols: &symbols)
    }

    /// `Q symbol time bid ask`, reusing the previous quote's symbol string when the bytes are the same
    /// (a TICKS batch is mostly one symbol: this saves building a String per tick).
    @inline(__always)
    mutating func quote(symbols: inout SymbolCache) throws(WireDecodingError) -> Tick {
        let symbolRange = try field("Q.symbol")
        guard !symbolRange.isEmpty else { throw failure(.badField("Q.symbol must not be empty")) }
        let symbol = symbols.string(for: bytes(symbolRange))
        let time = try time("Q.time")
        let bid = try positiveDecimal("Q.bid")
        let ask = try positiveDecimal("Q.ask")
        try finish()
        // bid ≤ ask × 1.01, exactly: 100 × bid ≤ 101 × ask.
        guard Int128(bid.units) * 100 <= Int128(ask.units) * 101 else {
            throw failure(.absurdValue("Q: bid above ask by more than 1% of ask"))
        }
        return Tick(symbol: symbol, time: time, bid: bid, ask: ask)
    }

    /// `A time balance credit equity margin`.
    mutating func account() throws(WireDecodingError) -> AccountReport {
        let time = try time("A.time")
        let balance = try decimal("A.balance")
        let credit = try decimal("A.credit")
        let equity = try decimal("A.equity")
        let margin = try nonNegativeDecimal("A.margin")
        try finish()
        return AccountReport(time: time, balance: balance, credit: credit, equity: equity, margin: margin)
    }

    /// `S name digits calcMode contractSize tickSize tickValue profitCurrency marginCurrency baseCurrency`.
    mutating func symbol() throws(WireDecodingError) -> SymbolSpec {
        let name = try nonEmptyString("S.name")
        let digits = try smallInteger("S.digits", in: 0...8)
        let calcMode: CalcMode = try enumeration("S.calcMode")
        let contractSize = try positiveDecimal("S.contractSize")
        let tickSize = try positiveDecimal("S.tickSize")
        let tickValue = try nonNegativeDecimal("S.tickValue")
        let profitCurrency = try nonEmptyString("S.profitCurrency")
        let marginCurrency = try string("S.marginCurrency")
        let baseCurrency = try string("S.baseCurrency")
        try finish()
        return SymbolSpec(name: name, digits: digits, calcMode: calcMode, contractSize: contractSize, tickSize: tickSize,
                          tickValue: tickValue, profitCurrency: profitCurrency, marginCurrency: marginCurrency,
                          baseCurrency: baseCurrency)
    }

    /// `P ticket symbol side volume openPrice openTime swap commission`.
    mutating func position() throws(WireDecodingError) -> Position {
        let ticket = try integer("P.ticket", minimum: 1)
        let symbol = try nonEmptyString("P.symbol")
        let side: Side = try enumeration("P.side")
        let volume = try positiveDecimal("P.volume")
        let openPrice = try positiveDecimal("P.openPrice")
        let openTime = try time("P.openTime")
        let swap = try decimal("P.swap")
        let commission = try decimal("P.commission")
        try finish()
        return Position(ticket: ticket, symbol: symbol, side: side, volume: volume, openPrice: openPrice,
                        openTime: openTime, swap: swap, commission: commission)
    }

    /// `D ticket time type entry symbol volume price profit commission swap fee positionID comment`.
    mutating func deal() throws(WireDecodingError) -> Deal {
        let ticket = try integer("D.ticket", minimum: 1)
        let time = try time("D.time")
        let type: DealType = try enumeration("D.type")
        let entry: DealEntry = try enumeration("D.entry")
        let symbol = try string("D.symbol")
        let volume = try nonNegativeDecimal("D.volume")
        let price = try nonNegativeDecimal("D.price")
        let profit = try decimal("D.profit")
        let commission = try decimal("D.commission")
        let swap = try decimal("D.swap")
        let fee = try decimal("D.fee")
        let positionID = try integer("D.positionID", minimum: 0)
        let comment = try string("D.comment")
        try finish()
        if type.isTrade {
            guard volume.units > 0 else { throw failure(.absurdValue("D.volume must be > 0 for a trade deal")) }
            guard price.units > 0 else { throw failure(.absurdValue("D.price must be > 0 for a trade deal")) }
            guard !symbol.isEmpty else { throw failure(.badField("D.symbol must not be empty for a trade deal")) }
        }
        return Deal(ticket: ticket, time: time, type: type, entry: entry, symbol: symbol, volume: volume, price: price,
                    profit: profit, commission: commission, swap: swap, fee: fee, positionID: positionID, comment: comment)
    }

    /// `I platform terminalBuild login server company currency currencyDigits marginMode leverage eaVersion brokerUTCOffsetSeconds`.
    mutating func hello(sessionID: String) throws(WireDecodingError) -> Hello {
        let platform: Platform = try enumeration("I.platform")
        let build = try smallInteger("I.terminalBuild", in: 0...Int(Int32.max))
        let login = try integer("I.login", minimum: 1)
        let server = try nonEmptyString("I.server")
        let company = try string("I.company")
        let currency = try nonEmptyString("I.currency")
        let currencyDigits = try smallInteger("I.currencyDigits", in: 0...8)
        let marginMode: MarginMode = try enumeration("I.marginMode")
        let leverage = try smallInteger("I.leverage", in: 0...Int(Int32.max))
        let eaVersion = try string("I.eaVersion")
        let offset = try smallInteger("I.brokerUTCOffsetSeconds", in: -86_400...86_400)
        try finish()
        return Hello(platform: platform, terminalBuild: build, login: login, server: server, company: company,
                     currency: currency, currencyDigits: currencyDigits, marginMode: marginMode, leverage: leverage,
                     eaVersion: eaVersion, brokerUTCOffsetSeconds: offset, sessionID: sessionID)
    }
}

/// The last symbol decoded in a frame, with its bytes, so repeated symbols share one String.
/// The last String built from some bytes, returned again while the same bytes repeat. Frames are
/// checked to be valid UTF-8 before any field is read, so the String's UTF-8 is exactly the bytes.
struct SymbolCache: Sendable {
    private var value: String?

    @inline(__always)
    mutating func string(for candidate: UnsafeBufferPointer<UInt8>) -> String {
        if let value {
            let same = value.utf8.withContiguousStorageIfAvailable { stored in
                stored.count == candidate.count && Self.equal(stored.baseAddress!, candidate.baseAddress!, candidate.count)
            } ?? value.utf8.elementsEqual(candidate)
            if same { return value }
        }
        let made = String(decoding: candidate, as: UTF8.self)
        value = made
        return made
    }

    @inline(__always)
    private static func equal(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for index in 0..<count where lhs[index] != rhs[index] { return false }
        return true
    }
}

/// Strings that repeat from frame to frame (a terminal's session id, its symbols), kept by a
/// caller that decodes many frames in a row, e.g. the bridge's socket loop (see
/// ``WireDecoder/decodeTerminal(_:reusing:)``). A value; not shared between threads.
public struct WireDecodingCache: Sendable {
    var sessionIDs = SymbolCache()
    var symbols = SymbolCache()

    /// An empty cache.
    public init() {}
}
