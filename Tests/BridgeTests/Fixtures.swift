import Bridge
import TidemarkProtocol

/// Messages and helpers shared by the bridge tests.
enum Fixture {
    static func hello(
        session: String = "s1", login: Int64 = 1001, server: String = "Demo",
        marginMode: MarginMode = .retailHedging
    ) -> Hello {
        Hello(
            platform: .mt5, terminalBuild: 4000, login: login, server: server, company: "Test Ltd",
            currency: "USD", currencyDigits: 2, marginMode: marginMode, leverage: 100,
            eaVersion: "1.0", brokerUTCOffsetSeconds: 7200, sessionID: session)
    }

    static let snapshot = Snapshot(
        account: AccountReport(
            time: BrokerTime(milliseconds: 1_000), balance: 10_000, credit: 0, equity: 10_000, margin: 0),
        symbols: [
            SymbolSpec(
                name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
                tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")
        ],
        positions: [],
        quotes: [Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: 1_000), bid: "1.14543", ask: "1.14545")])

    static func tick(_ time: Int64, bid: FixedDecimal = "1.14543", ask: FixedDecimal = "1.14545") -> TerminalMessage {
        .ticks([Tick(symbol: "EURUSD", time: BrokerTime(milliseconds: time), bid: bid, ask: ask)])
    }

    static func envelope(
        _ message: TerminalMessage, _ sequence: UInt64, session: String = "s1"
    ) -> Envelope<TerminalMessage> {
        Envelope(sessionID: session, sequence: sequence, message: message)
    }

    static func at(_ milliseconds: Int64) -> MonotonicInstant { MonotonicInstant(milliseconds: milliseconds) }

    /// A configuration with small round numbers so the tests can reason about them.
    static let configuration = BridgeSessionConfiguration(
        heartbeatIntervalMilliseconds: 1_000, missedHeartbeatsBeforeTimeout: 3, acknowledgeEveryMessages: 3,
        acknowledgeAfterMilliseconds: 50, resyncRetryMilliseconds: 2_000, maximumBadFramesPerWindow: 2,
        badFrameWindowMilliseconds: 1_000,
        agentVersion: "test")

    /// A machine that has accepted HELLO #1 and SNAPSHOT #2 at time 0 and acknowledged nothing yet.
    static func streamingMachine(session: String = "s1") -> BridgeSessionStateMachine {
        var machine = BridgeSessionStateMachine(configuration: configuration, now: at(0))
        _ = machine.received(envelope(.hello(hello(session: session)), 1, session: session), now: at(0))
        _ = machine.received(envelope(.snapshot(snapshot), 2, session: session), now: at(0))
        return machine
    }
}

extension BridgeSessionStateMachine.Action {
    /// The agent messages, without envelopes.
    var sentMessages: [AgentMessage] { send.map(\.message) }

    var closeReason: BridgeSessionStateMachine.CloseReason? {
        for event in events { if case .closed(let reason) = event { return reason } }
        return nil
    }

    var badFrameCodes: [String] {
        events.compactMap { if case .badFrame(let code, _) = $0 { code } else { nil } }
    }

    var resyncReasons: [String] {
        events.compactMap { if case .resyncRequested(_, let reason, _) = $0 { reason } else { nil } }
    }
}
