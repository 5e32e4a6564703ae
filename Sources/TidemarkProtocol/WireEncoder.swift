// Encodes envelopes into wire frames (protocol/SPEC.md), appending bytes straight into an array.

/// Encodes envelopes into wire frames. Stateless; safe to call from any thread.
///
/// Free text (names, comments, reasons) has TAB, LF and NUL replaced by spaces, as the EAs do,
/// so any message encodes to a valid frame. Decimals are written in their shortest plain form.
public enum WireEncoder {
    /// The frame for an EA → agent message.
    public static func encode(_ envelope: Envelope<TerminalMessage>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        encode(envelope, into: &bytes)
        return bytes
    }

    /// The frame for an agent → EA message.
    public static func encode(_ envelope: Envelope<AgentMessage>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        encode(envelope, into: &bytes)
        return bytes
    }

    /// Appends the frame for an EA → agent message to `bytes`.
    public static func encode(_ envelope: Envelope<TerminalMessage>, into bytes: inout [UInt8]) {
        var writer = FrameWriter(bytes: bytes)
        bytes = []  // hand the storage to the writer without a copy
        defer { bytes = writer.bytes }
        let message = envelope.message
        // The lowest version that carries the message, so a version 1 agent reads all it can.
        var version = 1
        if case .snapshot(let snapshot) = message { version = snapshot.wireVersion }
        writer.header(message.wireType, envelope, version: version)
        switch message {
        case .hello(let hello):
            writer.tag("I")
            writer.text(hello.platform.rawValue)
            writer.integer(hello.terminalBuild)
            writer.integer(hello.login)
            writer.text(hello.server)
            writer.text(hello.company)
            writer.text(hello.currency)
            writer.integer(hello.currencyDigits)
            writer.text(hello.marginMode.rawValue)
            writer.integer(hello.leverage)
            writer.text(hello.eaVersion)
            writer.integer(hello.brokerUTCOffsetSeconds)
            writer.endLine()
        case .snapshot(let snapshot):
            writer.account(snapshot.account)
            for symbol in snapshot.symbols { writer.symbol(symbol) }
            for position in snapshot.positions { writer.position(position) }
            for quote in snapshot.quotes { writer.quote(quote) }
            if let count = snapshot.positionCount {
                writer.tag("N")
                writer.integer(count)
                writer.endLine()
            }
        case .symbol(let symbol):
            writer.symbol(symbol)
        case .ticks(let ticks):
            for tick in ticks { writer.quote(tick) }
        case .position(let update):
            writer.tag("C")
            writer.text(update.change.rawValue)
            writer.time(update.time)
            writer.endLine()
            writer.position(update.position)
        case .deal(let deal):
            writer.tag("D")
            writer.integer(deal.ticket)
            writer.time(deal.time)
            writer.text(deal.type.rawValue)
            writer.text(deal.entry.rawValue)
            writer.text(deal.symbol)
            writer.decimal(deal.volume)
            writer.decimal(deal.price)
            writer.decimal(deal.profit)
            writer.decimal(deal.commission)
            writer.decimal(deal.swap)
            writer.decimal(deal.fee)
            writer.integer(deal.positionID)
            writer.text(deal.comment)
            writer.endLine()
        case .report(let report):
            writer.account(report)
        case .heartbeat(let time):
            writer.tag("H")
            writer.time(time)
            writer.endLine()
        case .bye(let reason):
            writer.tag("B")
            writer.text(reason)
            writer.endLine()
        case .commandAcknowledgement(let ack):
            writer.tag("K")
            writer.integer(ack.commandID)
            writer.time(ack.time)
            writer.integer(ack.succeeded ? 1 : 0)
            writer.text(ack.detail)
            writer.endLine()
        }
    }

    /// Appends the frame for an agent → EA message to `bytes`.
    public static func encode(_ envelope: Envelope<AgentMessage>, into bytes: inout [UInt8]) {
        var writer = FrameWriter(bytes: bytes)
        bytes = []
        defer { bytes = writer.bytes }
        let message = envelope.message
        writer.header(message.wireType, envelope)
        switch message {
        case .welcome(let interval, let version):
            writer.tag("W")
            writer.integer(interval)
            writer.text(version)
            writer.endLine()
        case .reject(let reason, let text):
            writer.tag("R")
            writer.text(reason.rawValue)
            writer.text(text)
            writer.endLine()
        case .resync(let last, let reason):
            writer.tag("Y")
            writer.unsigned(last)
            writer.text(reason)
            writer.endLine()
        case .acknowledge(let sequence):
            writer.tag("N")
            writer.unsigned(sequence)
            writer.endLine()
        case .command(let command):
            writer.tag("X")
            writer.integer(command.id)
            writer.text(command.kind.rawValue)
            writer.text(command.reason)
            writer.endLine()
        case .heartbeat:
            break
        }
    }
}

extension TerminalMessage {
    /// The header type of this message's frame (`TICKS`).
    public var wireType: String {
        switch self {
        case .hello: "HELLO"
        case .snapshot: "SNAPSHOT"
        case .symbol: "SYMBOL"
        case .ticks: "TICKS"
        case .position: "POSITION"
        case .deal: "DEAL"
        case .report: "REPORT"
        case .heartbeat: "HEARTBEAT"
        case .bye: "BYE"
        case .commandAcknowledgement: "CMDACK"
        }
    }
}

extension AgentMessage {
    /// The header type of this message's frame (`WELCOME`).
    public var wireType: String {
        switch self {
        case .welcome: "WELCOME"
        case .reject: "REJECT"
        case .resync: "RESYNC"
        case .acknowledge: "ACK"
        case .command: "COMMAND"
        case .heartbeat: "HEARTBEAT"
        }
    }
}

/// Appends fields; every field but the first of a line is preceded by a TAB.
struct FrameWriter {
    var bytes: [UInt8]

    /// Agent → EA frames are always version 1 (`version`'s default): every EA reads them.
    mutating func header<Message>(_ type: String, _ envelope: Envelope<Message>, version: Int = 1) {
        bytes.append(contentsOf: [UInt8(ascii: "T"), UInt8(ascii: "M")])
        appendDigits(UInt64(version))
        text(type)
        text(envelope.sessionID)
        unsigned(envelope.sequence)
        endLine()
    }

    mutating func tag(_ tag: Unicode.Scalar) { bytes.append(UInt8(ascii: tag)) }

    mutating func endLine() { bytes.append(Ascii.lineFeed) }

    mutating func text(_ value: String) {
        bytes.append(Ascii.tab)
        for byte in value.utf8 {
            switch byte {
            case 0x09, 0x0A, 0x00: bytes.append(UInt8(ascii: " "))  // the bytes a field cannot hold
            default: bytes.append(byte)
            }
        }
    }

    mutating func integer(_ value: some BinaryInteger) {
        bytes.append(Ascii.tab)
        if value < 0 { bytes.append(Ascii.minus) }
        appendDigits(UInt64(value.magnitude))
    }

    mutating func unsigned(_ value: UInt64) {
        bytes.append(Ascii.tab)
        appendDigits(value)
    }

    mutating func time(_ value: BrokerTime) { integer(value.milliseconds) }

    /// The shortest plain form: `1.14512`, `-3.5`, `100`.
    mutating func decimal(_ value: FixedDecimal) {
        bytes.append(Ascii.tab)
        if value.units < 0 { bytes.append(Ascii.minus) }
        let magnitude = value.units.magnitude
        let perOne = UInt64(FixedDecimal.unitsPerOne)
        appendDigits(magnitude / perOne)
        var fraction = magnitude % perOne
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var digits = FixedDecimal.fractionDigits
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        // `digits` fractional digits, with leading zeros.
        var divisor: UInt64 = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }

    mutating func appendDigits(_ value: UInt64) {
        guard value >= 10 else {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ 20 digits of UInt64.max
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var index = buffer.count
            var rest = value
            while rest > 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            bytes.append(contentsOf: buffer[index...])
        }
    }

    mutating func account(_ report: AccountReport) {
        tag("A")
        time(report.time)
        decimal(report.balance)
        decimal(report.credit)
        decimal(report.equity)
        decimal(report.margin)
        endLine()
    }

    mutating func symbol(_ symbol: SymbolSpec) {
        tag("S")
        text(symbol.name)
        integer(symbol.digits)
        text(symbol.calcMode.rawValue)
        decimal(symbol.contractSize)
        decimal(symbol.tickSize)
        decimal(symbol.tickValue)
        text(symbol.profitCurrency)
        text(symbol.marginCurrency)
        text(symbol.baseCurrency)
        endLine()
    }

    mutating func position(_ position: Position) {
        tag("P")
        integer(position.ticket)
        text(position.symbol)
        text(position.side.rawValue)
        decimal(position.volume)
        decimal(position.openPrice)
        time(position.openTime)
        decimal(position.swap)
        decimal(position.commission)
        endLine()
    }

    mutating func quote(_ tick: Tick) {
        tag("Q")
        text(tick.symbol)
        time(tick.time)
        decimal(tick.bid)
        decimal(tick.ask)
        endLine()
    }
}
