import Simulator
import Testing
import TidemarkProtocol

/// The builder lives in the Simulator target; its output is the protocol's recording form, so it is
/// tested here with the codec.
@Suite("RecordingBuilder: ticks + trade script → recording")
struct RecordingBuilderTests {
    /// 2019-02-04 08:00:00 UTC = 10:00:00 broker time at UTC+2.
    static let baseUTC: Int64 = 1_549_267_200_000
    static let baseBroker: Int64 = 1_549_274_400_000

    /// Five EURUSD quotes one second apart, generated here (not copied from a file).
    static let ticks: [SourceTick] = [
        ("1.145", "1.14503"), ("1.1451", "1.14512"), ("1.1452", "1.14523"), ("1.1453", "1.14532"),
        ("1.1454", "1.14543"),
    ].enumerated().map { index, quote in
        SourceTick(
            symbol: "EURUSD", utcMilliseconds: baseUTC + Int64(index) * 1000,
            bid: FixedDecimal(quote.0)!, ask: FixedDecimal(quote.1)!)
    }

    private func build(_ script: String, platform: Platform = .mt5, reportEvery: Int = 3) throws -> [TerminalMessage] {
        var configuration = RecordingBuilder.Configuration()
        configuration.platform = platform
        configuration.ticksPerMessage = 2
        configuration.reportEveryTicks = reportEvery
        let lines = try RecordingBuilder(configuration: configuration).build(
            ticks: Self.ticks, script: TradeScript.parse(script))
        var messages: [TerminalMessage] = []
        for (index, line) in lines.enumerated() {
            guard case .message(let account, let session, let sequence, let message) = line else {
                Issue.record("not a message")
                continue
            }
            #expect(account == AccountID("Tidemark-Sim:1000001"))
            #expect(session == "sim-1")
            #expect(sequence == UInt64(index + 1))
            // Every line is canonical JSON that reads back, and a valid wire frame.
            #expect(try RecordingCodec.decode(RecordingCodec.encode(line)) == line)
            let envelope = Envelope(sessionID: session!, sequence: sequence!, message: message)
            #expect(try WireDecoder.decodeTerminal(WireEncoder.encode(envelope)) == envelope)
            messages.append(message)
        }
        return messages
    }

    private func time(_ secondsAfterTen: Double) -> BrokerTime {
        BrokerTime(milliseconds: Self.baseBroker + Int64(secondsAfterTen * 1000))
    }

    private func quote(_ index: Int) -> Tick {
        let source = Self.ticks[index]
        return Tick(symbol: "EURUSD", time: time(Double(index)), bid: source.bid, ask: source.ask)
    }

    @Test("MT5: deposit, open with commission, partial and full close, reports with exact equity")
    func mt5Session() throws {
        let messages = try build(
            """
            commission 3.50
            balance 1000
            2019-02-04 10:00:00.500 deposit 500
            2019-02-04 10:00:01.500 open buy 0.50   # at ask 1.14512
            2019-02-04 10:00:02.500 close 100001 0.20
            2019-02-04 10:00:03.500 close 100001
            """)
        #expect(messages.count == 17)
        guard case .hello(let hello) = messages[0], case .snapshot(let snapshot) = messages[1] else {
            Issue.record("no hello and snapshot first")
            return
        }
        #expect(hello.platform == .mt5 && hello.brokerUTCOffsetSeconds == 7200 && hello.marginMode == .retailHedging)
        // The snapshot is taken at the first tick (10:00:00.000), before the deposit.
        #expect(snapshot.account == AccountReport(time: time(0), balance: 1000, credit: 0, equity: 1000, margin: 0))
        #expect(snapshot.symbols.map(\.name) == ["EURUSD"])

        let position = Position(
            ticket: 100_001, symbol: "EURUSD", side: .buy, volume: "0.5", openPrice: "1.14512", openTime: time(1.5))
        var remaining = position
        remaining.volume = "0.3"
        let expected: [TerminalMessage] = [
            .ticks([quote(0)]),
            .deal(Deal(ticket: 200_001, time: time(0.5), type: .balance, entry: .in, profit: 500, comment: "Deposit")),
            .ticks([quote(1)]),
            // 0.50 lot × 3.50 per lot = 1.75 commission on the entry deal.
            .deal(
                Deal(
                    ticket: 200_002, time: time(1.5), type: .buy, entry: .in, symbol: "EURUSD", volume: "0.5",
                    price: "1.14512", commission: "-1.75", positionID: 100_001)),
            .position(PositionUpdate(change: .opened, time: time(1.5), position: position)),
            .ticks([quote(2)]),
            // Balance 1000 + 500 − 1.75 = 1498.25; floating (1.14520 − 1.14512) × 100,000 × 0.5 = 4.00;
            // equity 1502.25; margin 500 EUR × 1.14523 = 572.615 → 572.62.
            .report(AccountReport(time: time(2), balance: "1498.25", credit: 0, equity: "1502.25", margin: "572.62")),
            // Sells 0.20 at bid 1.14520: (1.14520 − 1.14512) × 100,000 × 0.2 = 1.60; commission 0.20 × 3.50 = 0.70.
            .deal(
                Deal(
                    ticket: 200_003, time: time(2.5), type: .sell, entry: .out, symbol: "EURUSD", volume: "0.2",
                    price: "1.1452", profit: "1.6", commission: "-0.7", positionID: 100_001)),
            .position(PositionUpdate(change: .changed, time: time(2.5), position: remaining)),
            .ticks([quote(3)]),
            // Sells 0.30 at bid 1.14530: 0.00018 × 30,000 = 5.40; commission 0.30 × 3.50 = 1.05.
            .deal(
                Deal(
                    ticket: 200_004, time: time(3.5), type: .sell, entry: .out, symbol: "EURUSD", volume: "0.3",
                    price: "1.1453", profit: "5.4", commission: "-1.05", positionID: 100_001)),
            .position(PositionUpdate(change: .closed, time: time(3.5), position: remaining)),
            .ticks([quote(4)]),
            // 1498.25 + 1.60 − 0.70 + 5.40 − 1.05 = 1503.50, flat.
            .report(AccountReport(time: time(4), balance: "1503.5", credit: 0, equity: "1503.5", margin: 0)),
            .bye(reason: "recording finished"),
        ]
        #expect(Array(messages.dropFirst(2)) == expected)
    }

    @Test("MT4: round-turn commission on the order; a partial close reopens the rest under a new ticket")
    func mt4PartialClose() throws {
        let messages = try build(
            """
            commission 3.5
            balance 1000
            2019-02-04 10:00:01.500 open sell 1.00
            2019-02-04 10:00:02.500 close 100001 0.40
            """, platform: .mt4, reportEvery: 0)
        // Opens at bid 1.14510 with 2 × 3.50 × 1.00 = 7.00 commission on the order, none to the balance.
        let opened = Position(
            ticket: 100_001, symbol: "EURUSD", side: .sell, volume: 1, openPrice: "1.1451",
            openTime: time(1.5), commission: -7)
        var rest = opened
        rest.ticket = 100_002
        rest.volume = "0.6"
        rest.commission = "-4.2"
        let trading = messages.filter {
            if case .ticks = $0 { return false }
            return true
        }
        #expect(
            Array(trading.dropFirst(2)) == [
                .position(PositionUpdate(change: .opened, time: time(1.5), position: opened)),
                // Buys 0.40 back at ask 1.14523: (1.14510 − 1.14523) × 100,000 × 0.4 = −5.20; its share of the
                // commission 7.00 × 0.4 = 2.80. MT4 reports the close under the order's own ticket.
                .deal(
                    Deal(
                        ticket: 100_001, time: time(2.5), type: .buy, entry: .out, symbol: "EURUSD", volume: "0.4",
                        price: "1.14523", profit: "-5.2", commission: "-2.8", positionID: 100_001)),
                .position(PositionUpdate(change: .closed, time: time(2.5), position: opened)),
                .position(PositionUpdate(change: .opened, time: time(2.5), position: rest)),
                // Balance 1000 − 5.20 − 2.80 = 992.00; the 0.60 left at ask 1.14543: −0.00033 × 60,000 = −19.80,
                // commission −4.20 on the order: equity 992 − 19.80 − 4.20 = 968.00; margin 600 EUR × 1.14543 = 687.258 → 687.26.
                .report(AccountReport(time: time(4), balance: 992, credit: 0, equity: 968, margin: "687.26")),
                .bye(reason: "recording finished"),
            ])
    }

    @Test("ticks are batched up to the limit and interleaved with actions in time order")
    func batching() throws {
        let messages = try build("", reportEvery: 0)
        let batches = messages.compactMap { message -> [Tick]? in
            if case .ticks(let ticks) = message { return ticks.array }
            return nil
        }
        #expect(batches.map(\.count) == [2, 2, 1])
        #expect(batches.flatMap { $0 } == (0..<5).map(quote))
    }

    @Test("script errors name the line")
    func scriptErrors() {
        func code(_ script: String) -> String? {
            do {
                _ = try build(script)
                return nil
            } catch let error as RecordingBuilderError {
                return error.code
            } catch {
                return "\(error)"
            }
        }
        #expect(code("2019-02-04 10:00:01 close 7") == "unknown_ticket")
        #expect(code("2019-02-04 09:00:00 open buy 1") == "no_quote")
        #expect(code("2019-02-04 10:00:01 open long 1") == "bad_script_line")
        #expect(code("2019-02-04 10:00:01 open buy 0") == "bad_script_line")
        #expect(code("2019-02-04 10:00:01 open buy 1 GBPUSD") == "unknown_symbol")
        #expect(code("2019-02-04 10:00:01 open buy 1\n2019-02-04 10:00:02 close 100001 2") == "bad_volume")
        #expect(code("2019-02-04 10:00:02 deposit 5\n2019-02-04 10:00:01 deposit 5") == "script_out_of_order")
        do {
            _ = try TradeScript.parse("# comment\n\n2019-02-04 10:00 fly away")
            Issue.record("parsed")
        } catch {
            #expect(error.detail.hasPrefix("line 3:"))
        }
    }

    @Test("tick CSV: header skipped, symbol from the file name, bad lines reported")
    func tickCSV() throws {
        let text =
            "time_utc_ms,bid,ask,bid_volume,ask_volume\n1549238400994,1.14543,1.14545,2.06,1.00\r\n1549238401271,1.14544,1.14546,1.00,1.00\n"
        let ticks = try TickCSV.parse(Array(text.utf8), symbol: "EURUSD")
        #expect(
            ticks == [
                SourceTick(symbol: "EURUSD", utcMilliseconds: 1_549_238_400_994, bid: "1.14543", ask: "1.14545"),
                SourceTick(symbol: "EURUSD", utcMilliseconds: 1_549_238_401_271, bid: "1.14544", ask: "1.14546"),
            ])
        #expect(TickCSV.symbol(fromFileName: "/data/ticks/EURUSD-2019-02-04.csv") == "EURUSD")
        #expect(throws: RecordingBuilderError.self) { try TickCSV.parse(Array("1,1.1,NaN\n".utf8), symbol: "X") }
    }

    @Test("symbols merge by time; a symbol whose profit is not in the account currency cannot be traded")
    func twoSymbols() throws {
        let jpy = SourceTick(symbol: "USDJPY", utcMilliseconds: Self.baseUTC + 500, bid: "109.85", ask: "109.853")
        var configuration = RecordingBuilder.Configuration()
        configuration.reportEveryTicks = 0
        let lines = try RecordingBuilder(configuration: configuration).build(
            ticks: Self.ticks + [jpy], script: TradeScript())
        guard case .message(_, _, _, .snapshot(let snapshot)) = lines[1],
            case .message(_, _, _, .ticks(let ticks)) = lines[2]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(snapshot.symbols.map(\.name) == ["EURUSD", "USDJPY"])
        #expect(snapshot.symbols[1].digits == 3 && snapshot.symbols[1].profitCurrency == "JPY")
        #expect(ticks.map(\.symbol).prefix(3) == ["EURUSD", "USDJPY", "EURUSD"])
        #expect(throws: RecordingBuilderError.self) {
            try RecordingBuilder().build(
                ticks: Self.ticks + [jpy], script: TradeScript.parse("2019-02-04 10:00:02 open buy 1 USDJPY"))
        }
    }
}
