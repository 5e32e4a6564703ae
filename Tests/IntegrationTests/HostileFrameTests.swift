import Foundation
import TestSupport
import Testing
import TidemarkProtocol
import ZeroMQ

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Frames whose sums overflow unchecked arithmetic (a trap: SIGILL, the whole agent down), sent over
/// ZeroMQ by a raw terminal to a real agent while an honest terminal streams real ticks: the agent
/// answers each figure it cannot represent with a RESYNC naming the reason and shows the account
/// in error on the API until a snapshot re-bases it, takes a report's drift and an implausible
/// heartbeat without an error, counts each on `/metrics`, and commits for the honest account
/// exactly what a run without the hostile terminal commits.
@Suite("Hostile frames over loopback", .serialized)
struct HostileFrameTests {
    static let max = FixedDecimal.greatestFiniteMagnitude
    static let hostile = AccountID(server: "Hostile", login: 666)
    static let time = BrokerTime(milliseconds: 1_549_242_000_000)  // 2019-02-04 01:00 broker time
    static let eurusd = SymbolSpec(
        name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
        tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")

    static func snapshot(balance: FixedDecimal, lots: FixedDecimal? = nil) -> TerminalMessage {
        let positions =
            lots.map {
                [
                    Position(
                        ticket: 1, symbol: "EURUSD", side: .buy, volume: $0, openPrice: 1, openTime: time, swap: .zero,
                        commission: .zero)
                ]
            } ?? []
        return .snapshot(
            Snapshot(
                account: AccountReport(time: time, balance: balance, credit: .zero, equity: balance, margin: .zero),
                symbols: [eurusd], positions: positions,
                quotes: [Tick(symbol: "EURUSD", time: time, bid: 1, ask: "1.00002")]))
    }

    static func balanceDeal(_ ticket: Int64, _ amount: FixedDecimal) -> TerminalMessage {
        .deal(
            Deal(
                ticket: ticket, time: BrokerTime(milliseconds: time.milliseconds + ticket), type: .balance, entry: .in,
                symbol: "",
                volume: .zero, price: .zero, profit: amount, commission: .zero, swap: .zero, fee: .zero, positionID: 0,
                comment: "hostile"))
    }

    /// Each case: the snapshot that sets it up, the frames, and the RESYNC reason expected (nil:
    /// none, the frame is a drift or an implausible time, not an account error).
    static let cases: [(name: String, setup: TerminalMessage, frames: [TerminalMessage], reason: String?)] = [
        ("largest profit", snapshot(balance: 10_000), [balanceDeal(1, max)], "balance_out_of_range"),
        (
            "two deposits", snapshot(balance: .zero), [balanceDeal(2, 92_233_720_368), balanceDeal(3, 92_233_720_368)],
            "balance_out_of_range"
        ),
        (
            "largest position moved", snapshot(balance: 10_000, lots: 92_233_720_368),
            [
                .ticks([
                    Tick(
                        symbol: "EURUSD", time: BrokerTime(milliseconds: time.milliseconds + 10), bid: "1.00001",
                        ask: "1.00003")
                ])
            ],
            "equity_out_of_range"
        ),
        (
            "report of +max and −max", snapshot(balance: 10_000),
            [.report(AccountReport(time: time, balance: max, credit: .zero, equity: -max, margin: .zero))], nil
        ),
        // Far beyond the wall clock: refused as an implausible time (counted), before any arithmetic.
        ("heartbeat at Int64.max", snapshot(balance: 10_000), [.heartbeat(BrokerTime(milliseconds: .max))], nil),
    ]

    @Test func eachFrameIsARefusalAndTheOtherTerminalIsServedAsIfAlone() async throws {
        let directory = try TemporaryDirectory()
        let recording = try await AgentRecordings.eurusdSlice(ticks: 3_000, batch: 5, in: directory)
        let rules = try AgentRecordings.rules(in: directory)

        let expected = try await CommittedOutcome.ofStraightRun(
            recording, rules: rules, in: directory, minimumEvents: 2)

        // The honest terminal paced over a few seconds, the hostile one meanwhile. The heartbeat
        // interval is long: the honest terminal's idle heartbeats (whose times depend on the wall
        // clock) stay out, and the hostile terminal, which sends none (its times would move every
        // account's clock), is not timed out while the test polls the API on a busy machine.
        let victim = FullAgent(
            in: directory, name: "victim", rules: rules, extraArguments: ["--heartbeat-ms", "20000"])
        try await victim.start()
        let honest = try Tidemark.start(
            [
                "simulate", "--connect", victim.bridgeEndpoint!, recording, "--speed", "600",
                "--timeout", "60",
            ], in: directory)
        let base = "http://\(victim.httpEndpoint!)/users/current/accounts/\(Self.hostile.rawValue)"
        let terminal = try RawTerminal(
            endpoint: victim.bridgeEndpoint!,
            hello: Hello(
                platform: .mt5, terminalBuild: 4000, login: 666, server: "Hostile", company: "x", currency: "USD",
                currencyDigits: 2,
                marginMode: .retailHedging, leverage: 100, eaVersion: "x", brokerUTCOffsetSeconds: 7200,
                sessionID: "hostile"))
        for hostileCase in Self.cases {
            try terminal.send(hostileCase.setup)
            // The snapshot folded cleanly: no error shown.
            let clean = try await Self.waitForAccount(base, token: victim.adminToken) {
                $0["error"] == nil && $0["equity"] != nil
            }
            #expect(clean?["error"] == nil, "\(hostileCase.name): \(clean ?? [:])")
            for frame in hostileCase.frames { try terminal.send(frame) }
            guard let reason = hostileCase.reason else {
                // Still served, no RESYNC for this frame, no error. (A "retry" RESYNC repeats an
                // earlier case's request when its snapshot came late on a busy machine.)
                #expect(
                    try terminal.next(
                        within: 1.5, where: { if case .resync(_, let said) = $0 { said != "retry" } else { false } })
                        == nil,
                    "\(hostileCase.name)")
                continue
            }
            let resync = try terminal.next(
                within: 10, where: { if case .resync(_, let said) = $0 { said != "retry" } else { false } })
            guard case .resync(_, let said)? = resync else {
                Issue.record(
                    "\(hostileCase.name): no RESYNC (\(terminal.received)); agent log: \(victim.log.suffix(3_000))")
                continue
            }
            #expect(said == reason, "\(hostileCase.name)")
            let marked = try await Self.waitForAccount(base, token: victim.adminToken) { $0["error"] != nil }
            let error = marked?["error"] as? [String: Any]
            #expect(error?["reason"] as? String == reason, "\(hostileCase.name): \(marked ?? [:])")
            #expect(error?["startedAt"] is String)
        }
        // The next snapshot clears the last error.
        try terminal.send(Self.snapshot(balance: 10_000))
        let cleared = try await Self.waitForAccount(base, token: victim.adminToken) { $0["error"] == nil }
        #expect(cleared?["error"] == nil)
        let metrics = try await HTTP.request("GET", "http://\(victim.httpEndpoint!)/metrics").text
        let samples =
            ["balance_out_of_range", "equity_out_of_range"].map {
                "tidemark_account_input_refusals_total{reason=\"\($0)\"}"
            }
            + ["tidemark_implausible_times_total"]
        for sample in samples {
            #expect(
                (PrometheusText.sample(sample, in: metrics) ?? 0) >= 1, "\(sample) in \(metrics.prefix(4_000))")
        }

        #expect(await honest.waitUntilExit(timeout: 120), "the simulator did not finish")
        #expect(honest.process.terminationStatus == 0, "\(honest.errors)")
        #expect(victim.running?.process.isRunning == true)
        #expect(await victim.stop() == 0)
        #expect(victim.log.contains("account input not representable"))
        let outcome = try await CommittedOutcome(store: victim.openStore())
        #expect(outcome.events == expected.events)
        #expect(outcome.chart == expected.chart)
        #expect(outcome.statistics == expected.statistics)
    }

    /// Reads the account resource until `condition` holds (at most 10 s); returns the last seen.
    static func waitForAccount(
        _ url: String, token: String, until condition: ([String: Any]) -> Bool
    ) async throws -> [String: Any]? {
        try await readUntil(deadline: .seconds(10)) {
            let reply = try await HTTP.request("GET", url, token: token, timeout: 10)
            return reply.status == 200 ? reply.json as? [String: Any] : nil
        } holds: {
            condition($0)
        }
    }
}
