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
        self.base = base
        self.position = position
        self.end = end
        self.line = line
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
            throw failure(
                .unexpectedRecord(
                    "expected a \(name) record, found "
                        + (tag == 0xFF ? "a long tag" : String(Character(Unicode.Scalar(tag))))))
        }
    }

    /// Every field was read: more fields are an error.
    mutating func finish() throws(WireDecodingError) {
        guard fields.next() == nil else {
            throw failure(.fieldCount("record \(Character(Unicode.Scalar(tag))) has too many fields"))
        }
    }

    @inline(__always)
    private mutating func field(_ name: StaticString) throws(WireDecodingError) -> Range<Int> {
        guard let range = fields.next() else {
            throw failure(.fieldCount("record has too few fields, \(name) missing"))
        }
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
                FrameReader.parseUnsigned(base, range.lowerBound + 1..<range.upperBound) != nil
            {
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

    mutating func enumeration<Value: RawRepresentable<String>>(_ name: StaticString) throws(WireDecodingError) -> Value
    {
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
        return SymbolSpec(
            name: name, digits: digits, calcMode: calcMode, contractSize: contractSize, tickSize: tickSize,
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
        return Position(
            ticket: ticket, symbol: symbol, side: side, volume: volume, openPrice: openPrice,
            openTime: openTime, swap: swap, commission: commission)
    }

    /// `N positionCount` (protocol version 2): how many positions a snapshot holds in all.
    mutating func positionCount() throws(WireDecodingError) -> Int {
        let count = try smallInteger("N.positionCount", in: 0...10_000_000)
        try finish()
        return count
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
        return Deal(
            ticket: ticket, time: time, type: type, entry: entry, symbol: symbol, volume: volume, price: price,
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
        return Hello(
            platform: platform, terminalBuild: build, login: login, server: server, company: company,
            currency: currency, currencyDigits: currencyDigits, marginMode: marginMode, leverage: leverage,
            eaVersion: eaVersion, brokerUTCOffsetSeconds: offset, sessionID: sessionID)
    }
}
