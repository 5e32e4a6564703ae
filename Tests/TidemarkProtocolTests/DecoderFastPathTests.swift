import Testing
import TidemarkProtocol

/// The decoder's fast paths (times and prices parsed while their field's end is found, message
/// types recognised from bytes, interned session ids and symbols, word-at-a-time UTF-8 check) must
/// give exactly the values and errors of the general rules. The expectations here come from the
/// spec's rules and from `FixedDecimal(ascii:)`, the general decimal parser, not from the fast paths.
@Suite("Decoder fast paths agree with the general rules")
struct DecoderFastPathTests {
    private func frame(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func decode(
        _ bytes: [UInt8], reusing cache: inout WireDecodingCache
    ) -> Result<Envelope<TerminalMessage>, WireDecodingError> {
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(WireDecodingError) in try WireDecoder.decodeTerminal(buffer, reusing: &cache) }
        }
        return outcome
    }

    /// Decimal-looking field texts: signs, points, digit runs of every length around the limits.
    private func decimalTexts() -> [String] {
        var texts = [
            "", "-", ".", "-.", "0", "-0", "1", "1.", ".5", "-.5", "1.5", "1.14512", "1.12345678", "1.123456789",
            "12345678901", "1234567890", "9999999999.99999999", "-9999999999.99999999", "92233720368.54775807",
            "92233720368.54775808", "99999999999", "00000000001.5", "1.5x", "x1.5", "1..5", "1.5.", "--1", "+1",
            "1 ", " 1", "1e5", "0.00000001", "0.000000001", "1.0", "1.00000000", "123456789012", "1\r",
        ]
        var rng = SplitMix64(seed: 0xDEC1)
        let alphabet = Array("0123456789.-".utf8)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...22, using: &rng)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                // Mostly digits, so that many texts are valid numbers of every length.
                bytes.append(
                    Int.random(in: 0..<10, using: &rng) < 8
                        ? UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &rng)
                        : alphabet.randomElement(using: &rng)!)
            }
            texts.append(String(decoding: bytes, as: UTF8.self))
        }
        return texts
    }

    @Test("a price field decodes to FixedDecimal(ascii:)'s value, or fails as that parser says")
    func pricesFollowTheGeneralParser() {
        var cache = WireDecodingCache()
        for text in decimalTexts() {
            // The bid is the field under test, against a fixed ask of 9,999,999,999.
            let bytes = frame("TM1\tTICKS\ts\t3\nQ\tEURUSD\t1549238400123\t\(text)\t9999999999\n")
            let outcome = decode(bytes, reusing: &cache)
            let alone = Result { () throws(WireDecodingError) in try WireDecoder.decodeTerminal(bytes) }
            #expect(outcome == alone, "cached and single-frame decoding differ for bid \(text.debugDescription)")
            switch FixedDecimal(ascii: Array(text.utf8)) {
            case nil:
                guard case .failure(let error) = outcome else {
                    Issue.record("bid \(text.debugDescription) decoded, but the general parser refuses it")
                    continue
                }
                #expect(
                    error.code == "bad_field" && error.message.contains("Q.bid"), "\(text.debugDescription): \(error)")
                #expect(error.line == 2)
            case let value? where value.units <= 0:
                guard case .failure(let error) = outcome else {
                    Issue.record("bid \(text.debugDescription) ≤ 0 decoded")
                    continue
                }
                #expect(error.code == "absurd_value", "\(text.debugDescription): \(error)")
            case let value? where Int128(value.units) * 100 > Int128(999_999_999_900_000_000) * 101:
                // More than 1 % above the ask (SPEC §4.1): 100 × bid > 101 × ask, ask = 9,999,999,999 × 10⁸ units.
                guard case .failure(let error) = outcome else {
                    Issue.record("bid \(text.debugDescription) above the ask by more than 1 % decoded")
                    continue
                }
                #expect(error.code == "absurd_value", "\(text.debugDescription): \(error)")
            case let value?:
                guard case .success(let envelope) = outcome, case .ticks(let ticks) = envelope.message else {
                    Issue.record("bid \(text.debugDescription) = \(value) did not decode: \(outcome)")
                    continue
                }
                #expect(ticks.map(\.bid) == [value], "\(text.debugDescription)")
            }
        }
    }

    @Test("a time field is 1…19 plain digits up to Int64.max; a negative time is absurd, anything else malformed")
    func timesFollowTheRules() {
        var cache = WireDecodingCache()
        let cases: [(text: String, expected: Int64?, code: String?)] = [
            ("0", 0, nil), ("1549238400123", 1_549_238_400_123, nil), ("000000000000000001", 1, nil),
            ("999999999999999999", 999_999_999_999_999_999, nil),  // 18 digits
            ("9223372036854775807", Int64.max, nil),  // 19 digits, the largest
            ("9223372036854775808", nil, "bad_field"),  // Int64.max + 1
            ("18446744073709551616", nil, "bad_field"),  // 20 digits, beyond UInt64
            ("", nil, "bad_field"), ("-5", nil, "absurd_value"), ("-", nil, "bad_field"), ("1.5", nil, "bad_field"),
            ("12a", nil, "bad_field"), (" 12", nil, "bad_field"), ("+12", nil, "bad_field"),
        ]
        for (text, expected, code) in cases {
            let outcome = decode(frame("TM1\tHEARTBEAT\ts\t3\nH\t\(text)\n"), reusing: &cache)
            switch outcome {
            case .success(let envelope):
                #expect(
                    envelope.message == .heartbeat(BrokerTime(milliseconds: expected ?? -1)), "\(text.debugDescription)"
                )
                #expect(code == nil, "\(text.debugDescription) decoded")
            case .failure(let error):
                #expect(error.code == code, "\(text.debugDescription): \(error)")
                #expect(expected == nil)
            }
        }
    }

    @Test("the last field may end at the frame's end or its line feed; a stray byte after a number is an error")
    func fieldEnds() throws {
        var cache = WireDecodingCache()
        func code(_ text: String) -> String? {
            guard case .failure(let error) = decode(frame(text), reusing: &cache) else { return nil }
            return error.code
        }
        // A tick whose ask ends the frame without the final LF: the header check says truncated.
        #expect(code("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6") == "truncated")
        #expect(code("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\t\n") == "field_count")
        #expect(code("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\r\n") == "bad_field")
        #expect(code("TM1\tTICKS\ts\t3\nQ\tX\t5\r\t1.5\t1.6\n") == "bad_field")
        // Two records: the first price's field ends at a TAB, the second record follows its LF.
        let two = try decode(frame("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nQ\tY\t6\t2\t2.01\n"), reusing: &cache).get()
        // Worked by hand: 1.5 = 150,000,000 units, 2.01 = 201,000,000 units.
        #expect(
            two.message
                == .ticks([
                    Tick(
                        symbol: "X", time: BrokerTime(milliseconds: 5), bid: FixedDecimal(units: 150_000_000),
                        ask: FixedDecimal(units: 160_000_000)),
                    Tick(
                        symbol: "Y", time: BrokerTime(milliseconds: 6), bid: FixedDecimal(units: 200_000_000),
                        ask: FixedDecimal(units: 201_000_000)),
                ]))
    }

    @Test("quotes in plain and other forms mix in one batch; an error names its own line")
    func mixedQuoteForms() throws {
        var cache = WireDecodingCache()
        let mixed = try decode(
            frame("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nQ\tX\t6\t.5\t.505\nQ\tX\t7\t1.5\t1.6\n"), reusing: &cache
        ).get()
        // Worked by hand: .5 = 50,000,000 units and .505 = 50,500,000 (the general parser's form).
        #expect(
            mixed.message
                == .ticks([
                    Tick(
                        symbol: "X", time: BrokerTime(milliseconds: 5), bid: FixedDecimal(units: 150_000_000),
                        ask: FixedDecimal(units: 160_000_000)),
                    Tick(
                        symbol: "X", time: BrokerTime(milliseconds: 6), bid: FixedDecimal(units: 50_000_000),
                        ask: FixedDecimal(units: 50_500_000)),
                    Tick(
                        symbol: "X", time: BrokerTime(milliseconds: 7), bid: FixedDecimal(units: 150_000_000),
                        ask: FixedDecimal(units: 160_000_000)),
                ]))
        for (text, code) in [
            ("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nQ\tX\t6\t1.5\tx\n", "bad_field"),
            // 1.7 > 1.6 × 1.01 = 1.616: more than 1 % above the ask.
            ("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nQ\tX\t6\t1.7\t1.6\n", "absurd_value"),
            ("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nQ\tX\t6\t0\t1.6\n", "absurd_value"),
            ("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nA\tX\t6\t1.5\t1.6\n", "unexpected_record"),
            ("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.5\t1.6\nQ\t\t6\t1.5\t1.6\n", "bad_field"),
        ] {
            guard case .failure(let error) = decode(frame(text), reusing: &cache) else {
                Issue.record("decoded: \(text.debugDescription)")
                continue
            }
            #expect(error.code == code, "\(text.debugDescription): \(error)")
            #expect(error.line == 3, "\(text.debugDescription): \(error)")
            #expect(error.sessionID == "s" && error.sequence == 3)
        }
        // 1.616 exactly is at the limit (100 × 1.616 = 161.6 = 101 × 1.6): accepted.
        let limit = try decode(frame("TM1\tTICKS\ts\t3\nQ\tX\t5\t1.616\t1.6\n"), reusing: &cache).get()
        #expect(
            limit.message
                == .ticks([
                    Tick(
                        symbol: "X", time: BrokerTime(milliseconds: 5), bid: FixedDecimal(units: 161_600_000),
                        ask: FixedDecimal(units: 160_000_000))
                ]))
    }

    @Test("interned session ids and symbols: thousands of sessions interleaved decode to their own strings")
    func manySessionsThroughOneCache() throws {
        var cache = WireDecodingCache()
        // More sessions and symbols than the cache has slots, interleaved, so entries collide and
        // are replaced; long ids (64 bytes, the most allowed) and long symbols (not kept) included.
        for round in 0..<3 {
            for session in 0..<2_000 {
                let sessionID =
                    session % 7 == 0
                    ? String(repeating: "s", count: 60) + "\(session % 10_000)".padding(4)
                    : "term-\(session)"
                let symbol =
                    session % 5 == 0 ? String(repeating: "EURUSD.", count: 12) + "\(session)" : "SYM\(session % 300)"
                let sequence = round + 3
                let bytes = frame("TM1\tTICKS\t\(sessionID)\t\(sequence)\nQ\t\(symbol)\t5\t1.5\t1.6\n")
                let envelope = try decode(bytes, reusing: &cache).get()
                #expect(envelope.sessionID == sessionID)
                #expect(envelope.sequence == UInt64(sequence))
                guard case .ticks(let ticks) = envelope.message else {
                    Issue.record("not ticks")
                    return
                }
                #expect(ticks.first?.symbol == symbol)
            }
        }
    }

    @Test(
        "message types are recognised exactly; near misses and the other direction's types are unknown, named in the error"
    )
    func messageTypes() {
        for name in [
            "TICK", "TICKSS", "ticks", "HELLOX", "HEARTBEA", "SNAP", "ACK", "WELCOME", "COMMAND", "REJECT", "RESYNC",
            "XY", "T",
        ] {
            let bytes = frame("TM1\t\(name)\ts\t1\nQ\tX\t5\t1.5\t1.6\n")
            do throws(WireDecodingError) {
                _ = try WireDecoder.decodeTerminal(bytes)
                Issue.record("\(name) decoded as a terminal message")
            } catch {
                #expect(error.code == "unknown_type", "\(name): \(error)")
                #expect(error.message.contains(name), "\(name): \(error)")
            }
        }
        for name in ["TICKS", "HELLO", "SNAPSHOT", "SYMBOL", "POSITION", "DEAL", "REPORT", "BYE", "CMDACK"] {
            do throws(WireDecodingError) {
                _ = try WireDecoder.decodeAgent(frame("TM1\t\(name)\ts\t1\n"))
                Issue.record("\(name) decoded as an agent message")
            } catch {
                #expect(error.code == "unknown_type" && error.message.contains(name), "\(name): \(error)")
            }
        }
    }

    @Test("UTF-8 check: a bad byte anywhere (also before a long ASCII tail, or among the last bytes) is refused")
    func utf8Anywhere() throws {
        let base = frame("TM1\tBYE\ts\t3\nB\tabcdefghijklmnopqrstuvwxyz0123456789\n")
        for position in 0..<base.count - 1 {
            for bad: UInt8 in [0x00, 0x80, 0xFF, 0xC3] {
                var bytes = base
                bytes[position] = bad
                do throws(WireDecodingError) {
                    _ = try WireDecoder.decodeTerminal(bytes)
                    Issue.record("byte \(bad) at \(position) decoded")
                } catch {
                    // After "TM1<TAB>" the version is known, so the UTF-8 check is what refuses it.
                    if position >= 4 { #expect(error.code == "not_utf8", "byte \(bad) at \(position): \(error)") }
                }
            }
        }
        // Valid multi-byte text anywhere is kept as it is.
        let text = "é€😀 tail of ascii text"
        #expect(try WireDecoder.decodeTerminal(frame("TM1\tBYE\ts\t3\nB\t\(text)\n")).message == .bye(reason: text))
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
