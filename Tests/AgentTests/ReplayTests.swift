import AgentFold
import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// The two real EURUSD days (../shared/data/ticks, UTC; broker time = UTC + 2 h) replayed through
/// the agent's fold (`RecordingReplay` over `AgentCore`), with one scripted position: 10 lots bought at broker
/// 2019-02-04 10:00:00.000 at the ask of the last quote before it (09:59:47.613: bid 1.14424,
/// ask 1.14427). Equity = 100000 + (bid − 1.14427) × 10 × 100000 = 100000 + (bid − 1.14427) × 1e6.
///
/// The expected ticks were found by hand with awk over the CSV files (first tick after the open
/// whose bid crosses the level), not by the code under test:
/// - profit > 1000 ⇔ bid > 1.14527: utc 1549267860606 → broker 2019-02-04 10:11:00.606, bid 1.14529,
///   profit (1.14529 − 1.14427) × 1e6 = 1020, relative 1020 / 100000 = 0.0102.
/// - drawdown > 2000 on a date ⇔ bid < 1.14227: none on 02-04; utc 1549351208196 → broker
///   2019-02-05 09:20:08.196, bid 1.14226, drawdown 2010 (initial balance 100000: nothing closed).
/// - drawdown > 3000 ⇔ bid < 1.14127: utc 1549355958917 → broker 2019-02-05 10:39:18.917,
///   bid 1.14126, drawdown 3010, relative 0.0301. A challenge with a static 3000 max loss (fail when
///   equity < 97000, i.e. 96990 here) fails at the same tick.
/// - The 02-05 UTC file runs into broker 2019-02-06 (until 02:00). The bid stays 1.14054 from
///   broker 02-05 23:59:59.834 through 02-06 00:00:00.428 (awk), so the equity engine emits no
///   observation until the bid changes: utc 1549404000579 → broker 2019-02-06 00:00:00.579,
///   bid 1.14055, drawdown (1.14427 − 1.14055) × 1e6 = 3720 > 2000 against the new date's initial
///   balance 100000: the date tracker fires again, in its new period, at that first observation.
struct ReplayTests {
    static let ticksDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/data/ticks")
    static let files = ["EURUSD-2019-02-04.csv", "EURUSD-2019-02-05.csv"].map {
        ticksDirectory.appendingPathComponent($0)
    }
    static let available = files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }

    static let account = AccountID("Replay-Server:7")
    static let openTime = at("2019-02-04 10:00:00.000")

    /// hello, snapshot, every tick (batches of 100), and the open deal + position at 10:00.
    static func recording() throws -> [UInt8] {
        var lines: [RecordingLine] = []
        func add(_ message: TerminalMessage) {
            lines.append(.message(account: account, sessionID: "s", sequence: nil, message))
        }
        add(
            .hello(
                Hello(
                    platform: .mt5, terminalBuild: 4755, login: 7, server: "Replay-Server", company: "Test",
                    currency: "USD", currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "test",
                    brokerUTCOffsetSeconds: 7200, sessionID: "s")))
        var ticks: [Tick] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for row in text.split(separator: "\n").dropFirst() {
                let fields = row.split(separator: ",")
                ticks.append(
                    Tick(
                        symbol: "EURUSD", time: BrokerTime(milliseconds: Int64(fields[0])! + 7_200_000),
                        bid: FixedDecimal(fields[1])!, ask: FixedDecimal(fields[2])!))
            }
        }
        add(
            .snapshot(
                Snapshot(
                    account: AccountReport(
                        time: ticks[0].time, balance: 100_000, credit: 0, equity: 100_000, margin: 0),
                    symbols: [
                        SymbolSpec(
                            name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
                            tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")
                    ],
                    positions: [], quotes: [ticks[0]])))
        var batch: [Tick] = []
        var opened = false
        for tick in ticks.dropFirst() {
            if !opened, tick.time > openTime {
                if !batch.isEmpty {
                    add(.ticks(batch))
                    batch = []
                }
                add(
                    .deal(
                        Deal(
                            ticket: 200_001, time: openTime, type: .buy, entry: .in, symbol: "EURUSD", volume: 10,
                            price: "1.14427", positionID: 100_001)))
                add(
                    .position(
                        PositionUpdate(
                            change: .opened, time: openTime,
                            position: Position(
                                ticket: 100_001, symbol: "EURUSD", side: .buy, volume: 10,
                                openPrice: "1.14427", openTime: openTime))))
                opened = true
            }
            batch.append(tick)
            if batch.count == 100 {
                add(.ticks(batch))
                batch = []
            }
        }
        if !batch.isEmpty { add(.ticks(batch)) }
        return RecordingWriter.encode(lines)
    }

    static let rules = """
        {"declarations": [
          {"action": "createTracker", "tracker": {"id": "pf", "accountId": "Replay-Server:7", "name": "profit", "period": "lifetime", "absoluteProfitThreshold": 1000}},
          {"action": "createTracker", "tracker": {"id": "daily", "accountId": "Replay-Server:7", "name": "daily", "period": "date", "absoluteDrawdownThreshold": 2000}},
          {"action": "createTracker", "tracker": {"id": "dd", "accountId": "Replay-Server:7", "name": "drawdown", "period": "lifetime", "absoluteDrawdownThreshold": 3000}},
          {"action": "createChallenge", "challenge": {"id": "eval", "account": "Replay-Server:7", "initialCapital": 100000,
            "startTime": "2019-02-04 00:00:00.000", "phases": [{"name": "evaluation", "rules": {"maxLoss": {"limit": {"amount": 3000}}}}]}}
        ]}
        """

    @Test func trackersAndChallengeFireAtTheHandCalculatedTicks() throws {
        // A missing prerequisite fails the test rather than skipping it: a skipped test proves nothing.
        try #require(
            Self.available,
            """
            The real tick files are missing: this test needs \(Self.files.map(\.path).joined(separator: " and ")) \
            (the project's shared/data/ticks, laid beside the checkout)
            """)
        var replay = RecordingReplay(recordingName: "eurusd")
        try replay.applyRules(Data(Self.rules.utf8))
        replay.play(RecordingReader(bytes: try Self.recording()))
        #expect(replay.problems.isEmpty)
        #expect(replay.skippedResentInputs == 0)

        let events = replay.outputs.trackerEvents
        #expect(events.map(\.trackerId) == ["pf", "daily", "dd", "daily"])
        let profit = try #require(events.first { $0.trackerId == "pf" })
        #expect(profit.brokerTime == at("2019-02-04 10:11:00.606"))
        #expect(profit.absoluteProfit == 1_020)
        #expect(profit.relativeProfit == "0.0102")
        let daily = try #require(events.first { $0.trackerId == "daily" })
        #expect(daily.brokerTime == at("2019-02-05 09:20:08.196"))
        #expect(daily.startBrokerTime == at("2019-02-05 00:00:00.000"))
        #expect(daily.absoluteDrawdown == 2_010)
        let drawdown = try #require(events.first { $0.trackerId == "dd" })
        #expect(drawdown.brokerTime == at("2019-02-05 10:39:18.917"))
        #expect(drawdown.absoluteDrawdown == 3_010)
        #expect(drawdown.relativeDrawdown == "0.0301")

        let nextDay = try #require(events.last)
        #expect(nextDay.brokerTime == at("2019-02-06 00:00:00.579"))
        #expect(nextDay.startBrokerTime == at("2019-02-06 00:00:00.000"))
        #expect(nextDay.absoluteDrawdown == 3_720)

        let challenge = try #require(replay.core.risk.challenge(id: "eval"))
        #expect(challenge.status == .failed)
        #expect(challenge.decidedAt == at("2019-02-05 10:39:18.917"))
        #expect(challenge.failure?.rule == .maxLoss)

        // Every event numbered once, in order: challenge phase start (1), profit (2), daily (3),
        // drawdown (4) and, at the same tick after the trackers, the challenge failure (5); daily
        // on 02-06 (6).
        #expect(replay.outputs.compactMap(\.sequenceNumber) == [1, 2, 3, 4, 5, 6])
        let failure = replay.outputs.first {
            if case .challengeEvent(5, let event) = $0 { event.kind == .challengeFailed } else { false }
        }
        #expect(failure != nil)
    }
}

private func at(_ text: String) -> BrokerTime {
    guard let time = BrokerTime(formatted: text) else { preconditionFailure("bad time \(text)") }
    return time
}
