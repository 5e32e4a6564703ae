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
    public static func decodeTerminal(_ bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> Envelope<TerminalMessage> {
        var strings = WireDecodingCache.singleFrame
        return try decodeTerminal(bytes, reusing: &strings)
    }

    /// Decodes one EA → agent frame, reusing the session id and symbol strings of earlier frames
    /// when the bytes repeat (consecutive frames mostly come from one terminal and one symbol).
    /// The result is the same as without the cache.
    public static func decodeTerminal(_ bytes: UnsafeRawBufferPointer,
                                      reusing strings: inout WireDecodingCache) throws(WireDecodingError) -> Envelope<TerminalMessage> {
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
    public static func decodeAgent(_ bytes: UnsafeRawBufferPointer) throws(WireDecodingError) -> Envelope<AgentMessage> {
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
        // One pass over the header: the cursor stops at the line feed, so the header's end is
        // where the sequence field stopped (looked for separately only when there are extra fields).
        var fields = FieldCursor(base: base, position: versionEnd + 1, end: count, line: 1)
        let typeRange = fields.next()
        let sessionRange = fields.next()
        let sequenceRange = fields.next()
        var headerEnd: Int
        if fields.isAtEnd {
            headerEnd = min(fields.position - 1, count)
        } else {
            headerEnd = fields.position
            while headerEnd < count, base[headerEnd] != Ascii.lineFeed { headerEnd += 1 }
        }
        let frame = address.assumingMemoryBound(to: UInt8.self)  // `base`, before `self` is whole
        let sessionID = sessionRange.map { strings.sessionIDs.string(for: frame + $0.lowerBound, count: $0.count) }
        let sequence = sequenceRange.flatMap { Self.parseUnsigned(frame, $0) }
        let type = typeRange.map { WireMessageType(frame + $0.lowerBound, count: $0.count) } ?? .unknown
        let unknownTypeName = type != .unknown ? "" : typeRange.map {
            String(decoding: UnsafeBufferPointer(start: frame + $0.lowerBound, count: $0.count), as: UTF8.self)
        } ?? ""

        header = WireHeader(version: version, type: type, unknownTypeName: unknownTypeName,
                            sessionID: sessionID ?? "", sequence: sequence ?? 0)
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

    mutating func terminalMessage(symbols: inout StringInterner) throws(WireDecodingError) -> TerminalMessage {
        switch header.type {
        case .ticks:
            // Most frames carry one quote: it stays inline in the batch (no array allocated).
            var first: Tick?
            var ticks: [Tick] = []
            while position < count {
                let tick: Tick
                if let plain = plainQuote(symbols: &symbols) {
                    tick = plain
                } else {
                    guard var record = nextRecord() else { break }
                    try record.expectTag(Ascii.tagQuote)
                    tick = try record.quote(symbols: &symbols)
                    advance(past: record)
                }
                if first == nil {
                    first = tick
                } else {
                    if ticks.isEmpty {
                        ticks.reserveCapacity(max(2, (count - position) / 36 + 2))
                        ticks.append(first!)
                    }
                    ticks.append(tick)
                }
            }
            guard let first else { throw .missingRecord("TICKS needs at least one Q record") }
            return .ticks(ticks.isEmpty ? TickBatch(first) : TickBatch(ticks))
        case .hello:
            var record = try requireRecord(UInt8(ascii: "I"), of: "HELLO")
            let hello = try record.hello(sessionID: header.sessionID)
            advance(past: record)
            try expectEnd(of: "HELLO")
            return .hello(hello)
        case .snapshot:
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
        case .symbol:
            var record = try requireRecord(Ascii.tagSymbol, of: "SYMBOL")
            let symbol = try record.symbol()
            advance(past: record)
            try expectEnd(of: "SYMBOL")
            return .symbol(symbol)
        case .position:
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
        case .deal:
            var record = try requireRecord(UInt8(ascii: "D"), of: "DEAL")
            let deal = try record.deal()
            advance(past: record)
            try expectEnd(of: "DEAL")
            return .deal(deal)
        case .report:
            var record = try requireRecord(Ascii.tagAccount, of: "REPORT")
            let report = try record.account()
            advance(past: record)
            try expectEnd(of: "REPORT")
            return .report(report)
        case .heartbeat:
            var record = try requireRecord(UInt8(ascii: "H"), of: "HEARTBEAT")
            let time = try record.time("H.time")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "HEARTBEAT")
            return .heartbeat(time)
        case .bye:
            var record = try requireRecord(UInt8(ascii: "B"), of: "BYE")
            let reason = try record.string("B.reason")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "BYE")
            return .bye(reason: reason)
        case .commandAcknowledgement:
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
            // Unknown, or a type of the other direction.
            throw .unknownType(header.typeName)
        }
    }

    /// The next line when it is a quote in its plain form (see ``plainQuote(_:_:at:symbols:)``);
    /// nil, having consumed nothing, otherwise.
    @inline(__always)
    private mutating func plainQuote(symbols: inout StringInterner) -> Tick? {
        guard let tick = Self.plainQuote(base, count, at: &position, symbols: &symbols) else { return nil }
        lineNumber += 1
        return tick
    }

    /// The line at `position` when it is a quote in its plain form, read in one pass over its bytes:
    /// `Q<TAB>symbol<TAB>time<TAB>bid<TAB>ask<LF>` with a symbol of ASCII bytes other than NUL, a
    /// time of 1…18 digits, prices as in ``FieldCursor/nextPlainDecimalUnits()``, both prices > 0
    /// and the bid at most 1 % above the ask; `position` then moves to the next line. Anything else
    /// returns nil and leaves `position` alone: the general reader then decodes the line (same
    /// value) or refuses it (with its precise error).
    @inline(__always)
    static func plainQuote(_ base: UnsafePointer<UInt8>, _ count: Int, at position: inout Int,
                           symbols: inout StringInterner) -> Tick? {
        var index = position
        guard index + 2 < count, base[index] == Ascii.tagQuote, base[index + 1] == Ascii.tab else { return nil }
        index += 2
        let symbolStart = index
        while index < count {
            let byte = base[index]
            if byte == Ascii.tab { break }
            // Not LF, not NUL, not beyond ASCII (so valid UTF-8 without a separate check).
            guard byte != Ascii.lineFeed, byte &- 1 < 0x7F else { return nil }
            index += 1
        }
        let symbolEnd = index
        guard symbolEnd > symbolStart, index < count else { return nil }
        index += 1
        let (time, timeLength) = Ascii.digitRun(base, from: &index, end: count)
        guard timeLength >= 1, timeLength <= 18, index < count, base[index] == Ascii.tab else { return nil }
        var prices = FieldCursor(base: base, position: index + 1, end: count, line: 0)
        guard let bid = prices.nextPlainDecimalUnits(), !prices.isAtEnd,
              let ask = prices.nextPlainDecimalUnits(), prices.isAtEnd,
              prices.position <= count, base[prices.position - 1] == Ascii.lineFeed,
              bid > 0, ask > 0, Int128(bid) * 100 <= Int128(ask) * 101 else { return nil }
        position = prices.position
        return Tick(symbol: symbols.string(for: base + symbolStart, count: symbolEnd - symbolStart),
                    time: BrokerTime(milliseconds: Int64(time)),
                    bid: FixedDecimal(units: bid), ask: FixedDecimal(units: ask))
    }

    /// A whole TICKS frame in its plain form, read in one pass over its bytes with nothing else:
    /// the header exactly `TM1<TAB>TICKS<TAB>session<TAB>sequence<LF>` (a session id of 1…64 ASCII
    /// bytes other than NUL, a sequence of 1…18 digits, at least 1), then only plain quotes (see
    /// ``plainQuote(_:_:at:symbols:)``). Every byte is then ASCII and not NUL, so the frame is
    /// valid UTF-8 without a separate pass. Anything else (another type, another spelling, any
    /// irregularity) returns nil: the general reader decodes the frame (same value) or refuses it.
    @inline(__always)
    static func plainTicks(_ bytes: UnsafeRawBufferPointer, strings: inout WireDecodingCache) -> Envelope<TerminalMessage>? {
        guard let address = bytes.baseAddress, bytes.count >= 16 else { return nil }
        let base = address.assumingMemoryBound(to: UInt8.self)
        let count = bytes.count
        // "TM1\tTICKS\t": one word and two bytes.
        let prefix = UInt64(0x4B43_4954_0931_4D54)   // "TM1\tTICK", little-endian
        guard UInt64(littleEndian: address.loadUnaligned(as: UInt64.self)) == prefix,
              base[8] == UInt8(ascii: "S"), base[9] == Ascii.tab else { return nil }
        var index = 10
        let sessionStart = index
        while index < count {
            let byte = base[index]
            if byte == Ascii.tab { break }
            guard byte != Ascii.lineFeed, byte &- 1 < 0x7F else { return nil }
            index += 1
        }
        let sessionCount = index - sessionStart
        guard sessionCount >= 1, sessionCount <= 64, index < count else { return nil }
        index += 1
        let (sequence, sequenceLength) = Ascii.digitRun(base, from: &index, end: count)
        guard sequenceLength >= 1, sequenceLength <= 18, sequence >= 1,
              index < count, base[index] == Ascii.lineFeed else { return nil }
        var position = index + 1
        guard let first = plainQuote(base, count, at: &position, symbols: &strings.symbols) else { return nil }
        let batch: TickBatch
        if position == count {
            batch = TickBatch(first)
        } else {
            var ticks: [Tick] = []
            ticks.reserveCapacity(2 + (count - position) / 36)
            ticks.append(first)
            while position < count {
                guard let tick = plainQuote(base, count, at: &position, symbols: &strings.symbols) else { return nil }
                ticks.append(tick)
            }
            batch = TickBatch(ticks)
        }
        let sessionID = strings.sessionIDs.string(for: base + sessionStart, count: sessionCount)
        return Envelope(sessionID: sessionID, sequence: sequence, message: .ticks(batch))
    }

    // MARK: agent → EA

    mutating func agentMessage() throws(WireDecodingError) -> AgentMessage {
        switch header.type {
        case .welcome:
            var record = try requireRecord(UInt8(ascii: "W"), of: "WELCOME")
            let interval = try record.integer("W.heartbeatIntervalMilliseconds", minimum: 1)
            let version = try record.string("W.agentVersion")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "WELCOME")
            guard let interval = Int(exactly: interval) else { throw .badField("W.heartbeatIntervalMilliseconds") }
            return .welcome(heartbeatIntervalMilliseconds: interval, agentVersion: version)
        case .reject:
            var record = try requireRecord(UInt8(ascii: "R"), of: "REJECT")
            let reason: RejectReason = try record.enumeration("R.reason")
            let message = try record.string("R.message")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "REJECT")
            return .reject(reason, message: message)
        case .resync:
            var record = try requireRecord(UInt8(ascii: "Y"), of: "RESYNC")
            let last = try record.unsigned("Y.lastSequence")
            let reason = try record.string("Y.reason")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "RESYNC")
            return .resync(lastSequence: last, reason: reason)
        case .acknowledge:
            var record = try requireRecord(UInt8(ascii: "N"), of: "ACK")
            let sequence = try record.unsigned("N.sequence")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "ACK")
            return .acknowledge(sequence: sequence)
        case .command:
            var record = try requireRecord(UInt8(ascii: "X"), of: "COMMAND")
            let id = try record.integer("X.id", minimum: 0)
            let kind: CommandKind = try record.enumeration("X.kind")
            let reason = try record.string("X.reason")
            try record.finish()
            advance(past: record)
            try expectEnd(of: "COMMAND")
            return .command(Command(id: id, kind: kind, reason: reason))
        case .heartbeat:
            try expectEnd(of: "HEARTBEAT")
            return .heartbeat
        default:
            // Unknown, or a type of the other direction.
            throw .unknownType(header.typeName)
        }
    }

    // MARK: UTF-8 and numbers

    /// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) and no NUL byte.
    static func isValidUTF8(_ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var index = 0
        // Eight ASCII bytes at a time: no high bit set and no zero byte.
        let raw = UnsafeRawPointer(base)
        @inline(__always)
        func isPlainASCII(_ word: UInt64) -> Bool {
            let highBits: UInt64 = 0x8080_8080_8080_8080
            let hasZeroByte = (word &- 0x0101_0101_0101_0101) & ~word & highBits
            return word & highBits == 0 && hasZeroByte == 0
        }
        while index + 8 <= count {
            guard isPlainASCII(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) else { break }
            index += 8
        }
        // The last few bytes as one word that overlaps bytes already checked (no byte loop for
        // an ASCII frame, which is nearly every frame).
        if index < count, index + 8 > count, count >= 8, isPlainASCII(raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) {
            return true
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
        guard count >= 3 else { self = .unknown; return }
        switch bytes[0] {
        case UInt8(ascii: "T"): self = matches("TICKS") ? .ticks : .unknown
        case UInt8(ascii: "H"): self = matches("HEARTBEAT") ? .heartbeat : matches("HELLO") ? .hello : .unknown
        case UInt8(ascii: "S"): self = matches("SNAPSHOT") ? .snapshot : matches("SYMBOL") ? .symbol : .unknown
        case UInt8(ascii: "P"): self = matches("POSITION") ? .position : .unknown
        case UInt8(ascii: "D"): self = matches("DEAL") ? .deal : .unknown
        case UInt8(ascii: "R"):
            self = matches("REPORT") ? .report : matches("REJECT") ? .reject : matches("RESYNC") ? .resync : .unknown
        case UInt8(ascii: "B"): self = matches("BYE") ? .bye : .unknown
        case UInt8(ascii: "C"): self = matches("CMDACK") ? .commandAcknowledgement : matches("COMMAND") ? .command : .unknown
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
    static func digitRun(_ base: UnsafePointer<UInt8>, from index: inout Int, end: Int) -> (value: UInt64, length: Int) {
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

    // The common fields (times, prices) are parsed while their end is found, in one pass. These
    // fast paths accept only the plain forms, and leave the cursor where it was otherwise, so the
    // caller reads the field the general way, which gives the same value or the same error.

    /// Ends the field whose last byte is before `index`, when a separator (or the end) is there.
    @inline(__always)
    private mutating func endField(at index: Int) -> Bool {
        if index < end {
            let byte = base[index]
            if byte == Ascii.tab {
                position = index + 1
                return true
            }
            guard byte == Ascii.lineFeed else { return false }
        }
        isAtEnd = true
        position = index + 1
        return true
    }

    /// The next field when it is 1…18 decimal digits (which always fit an Int64), else nil.
    @inline(__always)
    mutating func nextPlainUnsigned() -> UInt64? {
        guard !isAtEnd else { return nil }
        var index = position
        let (value, length) = Ascii.digitRun(base, from: &index, end: end)
        guard length >= 1, length <= 18, endField(at: index) else { return nil }
        return value
    }

    /// The next field as units of 10⁻⁸ when it is `[-]d[.d]` with 1…10 integer digits and 1…8
    /// fractional digits (which always fit), else nil.
    @inline(__always)
    mutating func nextPlainDecimalUnits() -> Int64? {
        guard !isAtEnd else { return nil }
        var index = position
        let negative = index < end && base[index] == Ascii.minus
        if negative { index += 1 }
        let (integerValue, integerDigits) = Ascii.digitRun(base, from: &index, end: end)
        guard integerDigits >= 1, integerDigits <= 10 else { return nil }
        let integerPart = Int64(integerValue)
        var fraction: Int64 = 0
        var fractionDigits = 0
        if index < end, base[index] == UInt8(ascii: ".") {
            index += 1
            let (fractionValue, digits) = Ascii.digitRun(base, from: &index, end: end)
            guard digits >= 1, digits <= FixedDecimal.fractionDigits else { return nil }
            fraction = Int64(fractionValue)
            fractionDigits = digits
        }
        guard endField(at: index) else { return nil }
        while fractionDigits < FixedDecimal.fractionDigits {
            fraction &*= 10
            fractionDigits += 1
        }
        let magnitude = integerPart &* FixedDecimal.unitsPerOne &+ fraction
        return negative ? -magnitude : magnitude
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
        if let units = fields.nextPlainDecimalUnits() { return FixedDecimal(units: units) }
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
        if let value = fields.nextPlainUnsigned() { return value }
        let range = try field(name)
        guard let value = FrameReader.parseUnsigned(base, range) else { throw failure(.badField("\(name)")) }
        return value
    }

    @inline(__always)
    mutating func time(_ name: StaticString) throws(WireDecodingError) -> BrokerTime {
        if let value = fields.nextPlainUnsigned() { return BrokerTime(milliseconds: Int64(value)) }
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
        var symbols = StringInterner(slots: 1)
        return try quote(symbols: &symbols)
    }

    /// `Q symbol time bid ask`, reusing the previous quote's symbol string when the bytes are the same
    /// (a TICKS batch is mostly one symbol: this saves building a String per tick).
    @inline(__always)
    mutating func quote(symbols: inout StringInterner) throws(WireDecodingError) -> Tick {
        let symbolRange = try field("Q.symbol")
        guard !symbolRange.isEmpty else { throw failure(.badField("Q.symbol must not be empty")) }
        let symbol = symbols.string(for: base + symbolRange.lowerBound, count: symbolRange.count)
        let time = try time("Q.time")
        let bid = try positiveDecimal("Q.bid")
        let ask = try positiveDecimal("Q.ask")
        try finish()
        guard Tick.isPlausibleQuote(bid: bid, ask: ask) else {
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

/// Interns the Strings that repeat from frame to frame (session ids, symbols): the bytes are
/// hashed and compared with a String made earlier from the same bytes, which is returned again, so
/// a repeat costs a hash and a compare instead of building (and later freeing) a String. Frames are
/// checked to be valid UTF-8 before any field is read, so a String's UTF-8 is exactly its bytes.
///
/// A direct-mapped table of a fixed number of slots (a colliding String replaces the one in its
/// slot), so memory stays bounded whatever peers send. The table is allocated on first use.
struct StringInterner: Sendable {
    /// A String with its bytes (up to 16, exact) or its hash (longer ones) as the key.
    private struct Entry: Sendable {
        var low: UInt64
        var high: UInt64
        var count: Int
        var string: String
    }

    private var entries: [Entry] = []
    private let slotMask: Int
    /// Longer Strings are made but not kept (a peer's oversized fields must not pin memory).
    private static var maximumKeptLength: Int { 64 }

    /// - Parameter slots: a power of two; 1 keeps only the last String.
    init(slots: Int) {
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two")
        slotMask = slots - 1
    }

    /// The String of the `count` bytes at `bytes` (valid UTF-8).
    @inline(__always)
    mutating func string(for bytes: UnsafePointer<UInt8>, count: Int) -> String {
        // Up to 16 bytes (symbols, most session ids) the key is the bytes themselves: a match
        // needs no comparison of the String. Longer ones are hashed, then compared.
        let (low, high) = count <= 16 ? Self.packed(bytes, count) : (ByteHash.of(bytes, count: count), 0)
        var mixed = (low ^ (high &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(truncatingIfNeeded: count)) &* 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 29
        let slot = Int(truncatingIfNeeded: mixed >> 40) & slotMask
        if slot < entries.count, entries[slot].low == low, entries[slot].high == high, entries[slot].count == count,
           count <= 16 || Self.equal(entries[slot].string, bytes, count) {
            return entries[slot].string
        }
        let made = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        guard count <= Self.maximumKeptLength else { return made }
        if entries.isEmpty { entries = Array(repeating: Entry(low: 0, high: 0, count: -1, string: ""), count: slotMask + 1) }
        entries[slot] = Entry(low: low, high: high, count: count, string: made)
        return made
    }

    /// Up to 16 bytes as two little-endian words, zero beyond `count`, read without touching a
    /// byte past the end (overlapping loads instead of a byte loop).
    @inline(__always)
    static func packed(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> (UInt64, UInt64) {
        let raw = UnsafeRawPointer(bytes)
        func load32(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        func load64(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        switch count {
        case 9...16:
            return (load64(0), load64(count - 8) >> UInt64((16 - count) * 8))
        case 8:
            return (load64(0), 0)
        case 4...7:
            return (load32(0) | load32(count - 4) << UInt64((count - 4) * 8), 0)
        case 1...3:
            var word: UInt64 = 0
            for index in 0..<count { word |= UInt64(bytes[index]) << UInt64(index * 8) }
            return (word, 0)
        default:
            return (0, 0)
        }
    }

    @inline(__always)
    private static func equal(_ string: String, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let utf8 = string.utf8
        guard utf8.count == count else { return false }
        return utf8.withContiguousStorageIfAvailable { stored in
            for index in 0..<count where stored[index] != bytes[index] { return false }
            return true
        } ?? utf8.elementsEqual(UnsafeBufferPointer(start: bytes, count: count))
    }
}

/// Strings that repeat from frame to frame (terminals' session ids, symbols), kept by a caller
/// that decodes many frames in a row, e.g. the bridge's socket loop (see
/// ``WireDecoder/decodeTerminal(_:reusing:)``): with many terminals on one socket, consecutive
/// frames come from different sessions, so each kind is interned in a table rather than as the
/// last value only. A value; not shared between threads.
public struct WireDecodingCache: Sendable {
    var sessionIDs: StringInterner
    var symbols: StringInterner

    /// An empty cache: room for the sessions of a few thousand terminals (the agent's design
    /// point is 1,000: with 512 slots, direct-mapped, most of their ids missed and were made anew
    /// per frame) and a few hundred symbols. About 40 bytes a slot.
    public init() {
        self.init(sessionIDSlots: 4_096, symbolSlots: 256)
    }

    /// A cache of the given sizes (powers of two); 1 keeps only the last value of each kind.
    init(sessionIDSlots: Int, symbolSlots: Int) {
        sessionIDs = StringInterner(slots: sessionIDSlots)
        symbols = StringInterner(slots: symbolSlots)
    }

    /// For one frame decoded on its own: only the last symbol is kept (a TICKS batch is mostly one).
    static var singleFrame: Self { Self(sessionIDSlots: 1, symbolSlots: 1) }
}
