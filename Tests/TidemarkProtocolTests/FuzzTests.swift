import Testing
import TidemarkProtocol

@Suite("Decoder fuzzing and round-trip properties")
struct FuzzTests {
    /// Decodes in the given direction: either a message (which must survive a re-encode unchanged)
    /// or a WireDecodingError's code — the only error there can be.
    private func decode(_ bytes: [UInt8], terminal: Bool) -> (ok: Bool, code: String?) {
        do throws(WireDecodingError) {
            if terminal {
                let envelope = try WireDecoder.decodeTerminal(bytes)
                let again = Result { () throws(WireDecodingError) in
                    try WireDecoder.decodeTerminal(WireEncoder.encode(envelope))
                }
                #expect(again == .success(envelope))
            } else {
                let envelope = try WireDecoder.decodeAgent(bytes)
                let again = Result { () throws(WireDecodingError) in
                    try WireDecoder.decodeAgent(WireEncoder.encode(envelope))
                }
                #expect(again == .success(envelope))
            }
            return (true, nil)
        } catch {
            #expect(!error.code.isEmpty)
            return (false, error.code)
        }
    }

    private func mutate(_ frame: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = frame
        let specials: [UInt8] = Array("\t\n0123456789.-QAPSDTM1 \r".utf8) + [0, 0x80, 0xC3, 0xFF]
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: bytes = Array(bytes.prefix(position))  // truncate
            // flip a bit
            case 1 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            case 2: bytes.insert(Bool.random(using: &rng) ? 0x09 : 0x0A, at: position)  // insert TAB or LF
            case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)  // insert a random byte
            case 4 where !bytes.isEmpty: bytes.remove(at: position)  // delete a byte
            case 5 where !bytes.isEmpty: bytes[position] = specials.randomElement(using: &rng)!  // plausible byte
            case 6:  // duplicate a span (e.g. a whole line)
                let length = Int.random(in: 0...min(40, bytes.count - position), using: &rng)
                bytes.insert(contentsOf: bytes[position..<position + length], at: position)
            default:  // replace a span with random digits
                let length = Int.random(in: 0...min(12, bytes.count - position), using: &rng)
                for index in position..<position + length {
                    bytes[index] = UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &rng)
                }
            }
        }
        return bytes
    }

    @Test("thousands of mutated frames never crash the decoder")
    func mutations() throws {
        let vectors = try loadVectors("valid.json")
        var rng = SplitMix64(seed: 0x7EDE_4A4B)
        var codes: [String: Int] = [:]
        var decodedCount = 0
        for _ in 0..<30_000 {
            let vector = vectors.randomElement(using: &rng)!
            let mutated = mutate(vector.wireBytes, using: &rng)
            let terminal = vector.direction == "terminal"
            // Both directions: the agent must survive frames meant for the other side, too.
            for direction in [terminal, !terminal] {
                let outcome = decode(mutated, terminal: direction)
                if let code = outcome.code { codes[code, default: 0] += 1 } else { decodedCount += 1 }
            }
        }
        // The mutations reach every kind of failure, and some mutants still decode (e.g. a changed digit).
        #expect(
            Set(codes.keys).isSuperset(of: [
                "truncated", "not_utf8", "bad_header", "unsupported_version", "unknown_type",
                "missing_record", "unexpected_record", "field_count", "bad_field", "absurd_value",
            ]),
            "\(codes)")
        #expect(decodedCount > 100)
    }

    @Test("random bytes never crash the decoder")
    func randomBytes() {
        var rng = SplitMix64(seed: 42)
        for round in 0..<5_000 {
            var bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 2 == 0 { bytes.insert(contentsOf: Array("TM1\tTICKS\ts\t1\n".utf8), at: 0) }
            _ = decode(bytes, terminal: true)
            _ = decode(bytes, terminal: false)
        }
    }

    @Test("random valid messages encode and decode to themselves, on the wire and in JSON")
    func roundTrip() throws {
        var generator = MessageGenerator(seed: 2019_02_04)
        for _ in 0..<3_000 {
            let envelope = generator.terminalEnvelope()
            let frame = WireEncoder.encode(envelope)
            #expect(try WireDecoder.decodeTerminal(frame) == envelope)
            let line = RecordingLine.message(
                account: AccountID("Srv:1"), sessionID: envelope.sessionID,
                sequence: envelope.sequence, envelope.message)
            let json = RecordingCodec.encode(line)
            #expect(try RecordingCodec.decode(json) == line)
            #expect(RecordingCodec.encode(try RecordingCodec.decode(json)) == json)

            let agent = generator.agentEnvelope()
            #expect(try WireDecoder.decodeAgent(WireEncoder.encode(agent)) == agent)
            #expect(try RecordingCodec.decodeAgent(RecordingCodec.encode(agent: agent)) == agent)
        }
    }

    @Test("free text with TAB, LF and NUL is sent with spaces instead; CR is kept")
    func controlCharactersInText() throws {
        let envelope = Envelope(sessionID: "s", sequence: 3, message: TerminalMessage.bye(reason: "a\tb\nc\u{0}d\re"))
        #expect(try WireDecoder.decodeTerminal(WireEncoder.encode(envelope)).message == .bye(reason: "a b c d\re"))
    }
}

/// Random messages that satisfy every validation rule of the spec.
struct MessageGenerator {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &rng) }
    mutating func bool() -> Bool { Bool.random(using: &rng) }

    /// Up to ±10⁶ with eight decimals: 15 significant digits, which JSON numbers (doubles) keep exactly.
    mutating func decimal(positive: Bool = false) -> FixedDecimal {
        let limit: Int64 = 100_000_000_000_000
        var units = int(positive ? 1...limit : -limit...limit)
        // Mostly short decimals, like real prices and money.
        if bool() { units -= units % 1_000 }
        return FixedDecimal(units: positive && units <= 0 ? 1_000 : units)
    }

    mutating func time() -> BrokerTime { BrokerTime(milliseconds: int(0...4_102_444_800_000)) }

    mutating func text(nonEmpty: Bool = false) -> String {
        let alphabet = Array("abcXYZ019 ._-/:#€é日\"\\{}")
        let length = Int.random(in: (nonEmpty ? 1 : 0)...12, using: &rng)
        return String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
    }

    mutating func pick<T: CaseIterable>(_: T.Type) -> T { T.allCases.randomElement(using: &rng)! }

    mutating func tick() -> Tick {
        let ask = decimal(positive: true)
        // Mostly bid < ask; sometimes crossed by up to 1 % of ask (allowed).
        let bid =
            bool()
            ? FixedDecimal(units: max(1, ask.units - int(0...ask.units / 50)))
            : FixedDecimal(units: ask.units + ask.units / 100)
        return Tick(symbol: text(nonEmpty: true), time: time(), bid: bid, ask: ask)
    }

    mutating func position() -> Position {
        Position(
            ticket: int(1...Int64.max), symbol: text(nonEmpty: true), side: pick(Side.self),
            volume: decimal(positive: true),
            openPrice: decimal(positive: true), openTime: time(), swap: decimal(), commission: decimal())
    }

    mutating func symbol() -> SymbolSpec {
        SymbolSpec(
            name: text(nonEmpty: true), digits: Int(int(0...8)), calcMode: pick(CalcMode.self),
            contractSize: decimal(positive: true),
            tickSize: decimal(positive: true), tickValue: decimal().magnitude, profitCurrency: text(nonEmpty: true),
            marginCurrency: text(), baseCurrency: text())
    }

    mutating func account() -> AccountReport {
        AccountReport(
            time: time(), balance: decimal(), credit: decimal(), equity: decimal(), margin: decimal().magnitude)
    }

    mutating func deal() -> Deal {
        let type = pick(DealType.self)
        return Deal(
            ticket: int(1...Int64.max), time: time(), type: type, entry: pick(DealEntry.self),
            symbol: type.isTrade ? text(nonEmpty: true) : text(),
            volume: type.isTrade ? decimal(positive: true) : decimal().magnitude,
            price: type.isTrade ? decimal(positive: true) : decimal().magnitude, profit: decimal(),
            commission: decimal(),
            swap: decimal(), fee: decimal(), positionID: int(0...Int64.max), comment: text())
    }

    mutating func list<T>(_ range: ClosedRange<Int>, _ make: (inout Self) -> T) -> [T] {
        (0..<Int.random(in: range, using: &rng)).map { _ in make(&self) }
    }

    mutating func terminalEnvelope() -> Envelope<TerminalMessage> {
        let sessionID = text(nonEmpty: true)
        let message: TerminalMessage
        switch int(0...9) {
        case 0:
            message = .hello(
                Hello(
                    platform: pick(Platform.self), terminalBuild: Int(int(0...5000)), login: int(1...Int64.max),
                    server: text(nonEmpty: true), company: text(), currency: text(nonEmpty: true),
                    currencyDigits: Int(int(0...8)), marginMode: pick(MarginMode.self), leverage: Int(int(0...3000)),
                    eaVersion: text(), brokerUTCOffsetSeconds: Int(int(-86_400...86_400)), sessionID: sessionID))
        case 1:
            message = .snapshot(
                Snapshot(
                    account: account(), symbols: list(0...3) { $0.symbol() },
                    positions: list(0...3) { $0.position() }, quotes: list(0...3) { $0.tick() }))
        case 2: message = .symbol(symbol())
        case 3: message = .ticks(list(1...60) { $0.tick() })
        case 4:
            message = .position(PositionUpdate(change: pick(PositionChange.self), time: time(), position: position()))
        case 5: message = .deal(deal())
        case 6: message = .report(account())
        case 7: message = .heartbeat(time())
        case 8: message = .bye(reason: text())
        default:
            message = .commandAcknowledgement(
                CommandAcknowledgement(commandID: int(0...Int64.max), time: time(), succeeded: bool(), detail: text()))
        }
        return Envelope(sessionID: sessionID, sequence: UInt64(int(1...Int64.max)), message: message)
    }

    mutating func agentEnvelope() -> Envelope<AgentMessage> {
        let message: AgentMessage
        switch int(0...5) {
        case 0: message = .welcome(heartbeatIntervalMilliseconds: Int(int(1...600_000)), agentVersion: text())
        case 1: message = .reject(pick(RejectReason.self), message: text())
        case 2: message = .resync(lastSequence: UInt64(int(0...Int64.max)), reason: text())
        case 3: message = .acknowledge(sequence: UInt64(int(0...Int64.max)))
        case 4: message = .command(Command(id: int(0...Int64.max), kind: pick(CommandKind.self), reason: text()))
        default: message = .heartbeat
        }
        return Envelope(sessionID: text(nonEmpty: true), sequence: UInt64(int(1...Int64.max)), message: message)
    }
}
