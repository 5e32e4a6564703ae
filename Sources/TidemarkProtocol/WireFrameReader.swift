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
            throw supportedProtocolVersions.contains(version) ? .notUTF8 : .unsupportedVersion("TM\(version)")
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
        let unknownTypeName =
            type != .unknown
            ? ""
            : typeRange.map {
                String(decoding: UnsafeBufferPointer(start: frame + $0.lowerBound, count: $0.count), as: UTF8.self)
            } ?? ""

        header = WireHeader(
            version: version, type: type, unknownTypeName: unknownTypeName,
            sessionID: sessionID ?? "", sequence: sequence ?? 0)
        position = min(headerEnd + 1, count)

        func fail(_ error: WireDecodingError) -> WireDecodingError {
            var error = error
            error.sessionID = sessionID
            error.sequence = sequence
            error.line = 1
            return error
        }
        guard supportedProtocolVersions.contains(version) else { throw fail(.unsupportedVersion("TM\(version)")) }
        guard headerEnd < count else { throw fail(.truncated) }
        guard let typeRange, !typeRange.isEmpty else { throw fail(.badHeader("empty type")) }
        guard let sessionRange = sessionRange, (1...64).contains(sessionRange.count) else {
            throw fail(.badHeader("session id must be 1–64 bytes"))
        }
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
        guard var record = nextRecord() else {
            throw .missingRecord("\(type) needs a \(Character(Unicode.Scalar(tag))) record")
        }
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
            var symbols: [SymbolSpec] = []
            var positions: [Position] = []
            var quotes: [Tick] = []
            var positionCount: Int?
            while var record = nextRecord() {
                switch record.tag {
                case Ascii.tagSymbol: symbols.append(try record.symbol())
                case Ascii.tagPosition: positions.append(try record.position())
                case Ascii.tagQuote: quotes.append(try record.quote())
                case Ascii.tagPositionCount where header.version >= 2 && positionCount == nil:
                    positionCount = try record.positionCount()
                default:
                    throw .unexpectedRecord(
                        header.version >= 2
                            ? "SNAPSHOT takes S, P and Q records and at most one N after A"
                            : "SNAPSHOT takes S, P and Q records after A")
                }
                advance(past: record)
            }
            if let positionCount, positionCount < positions.count {
                throw .absurdValue("N.positionCount is less than the snapshot's \(positions.count) positions")
            }
            return .snapshot(
                Snapshot(
                    account: account, symbols: symbols, positions: positions, quotes: quotes,
                    positionCount: positionCount))
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
            return .commandAcknowledgement(
                CommandAcknowledgement(commandID: commandID, time: time, succeeded: succeeded, detail: detail))
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
    static func plainQuote(
        _ base: UnsafePointer<UInt8>, _ count: Int, at position: inout Int,
        symbols: inout StringInterner
    ) -> Tick? {
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
            bid > 0, ask > 0, Int128(bid) * 100 <= Int128(ask) * 101
        else { return nil }
        position = prices.position
        return Tick(
            symbol: symbols.string(for: base + symbolStart, count: symbolEnd - symbolStart),
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
    static func plainTicks(
        _ bytes: UnsafeRawBufferPointer, strings: inout WireDecodingCache
    ) -> Envelope<TerminalMessage>? {
        guard let address = bytes.baseAddress, bytes.count >= 16 else { return nil }
        let base = address.assumingMemoryBound(to: UInt8.self)
        let count = bytes.count
        // "TM1\tTICKS\t": one word and two bytes.
        let prefix = UInt64(0x4B43_4954_0931_4D54)  // "TM1\tTICK", little-endian
        guard UInt64(littleEndian: address.loadUnaligned(as: UInt64.self)) == prefix,
            base[8] == UInt8(ascii: "S"), base[9] == Ascii.tab
        else { return nil }
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
            index < count, base[index] == Ascii.lineFeed
        else { return nil }
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
        if index < count, index + 8 > count, count >= 8,
            isPlainASCII(raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        {
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
            var lowerBound: UInt8 = 0x80
            var upperBound: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lowerBound = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                upperBound = 0x9F
            case 0xF0:
                length = 4
                lowerBound = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                upperBound = 0x8F
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
