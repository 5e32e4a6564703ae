import Agent
import AgentFold
import ArgumentParser
import Bridge
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import RiskCore
import Simulator
import Synchronization
import TidemarkProtocol
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// The terminals' scripts, the probes' trackers and the in-process reference.
struct AgentWorkload: Sendable {
    let terminals: Int
    let ticks: [Tick]
    let batch: Int
    let probes: Int
    static let server = "Bench"
    static let offset: Int64 = 2 * 3_600_000   // UTC → broker time (UTC+2)

    static func account(_ index: Int) -> AccountID { AccountID(server: server, login: Int64(1_000 + index)) }
    static func probeAccount(_ index: Int) -> AccountID { AccountID(server: server, login: Int64(900_000 + index)) }
    static func probeTracker(_ index: Int) -> String { "probe-\(index)" }

    static let spec = SymbolSpec(name: "EURUSD", digits: 5, calcMode: .forex, contractSize: 100_000, tickSize: "0.00001",
                                 tickValue: 1, profitCurrency: "USD", marginCurrency: "EUR", baseCurrency: "EUR")

    static func hello(_ account: AccountID) -> Hello {
        let (server, login) = (server, Int64(account.rawValue.split(separator: ":").last!)!)
        return Hello(platform: .mt5, terminalBuild: 4000, login: login, server: server, company: "Bench", currency: "USD",
                     currencyDigits: 2, marginMode: .retailHedging, leverage: 100, eaVersion: "bench",
                     brokerUTCOffsetSeconds: 7_200, sessionID: "")
    }

    static func snapshot(at time: BrokerTime, quote: Tick) -> Snapshot {
        let position = Position(ticket: 1, symbol: "EURUSD", side: .buy, volume: 1, openPrice: quote.bid, openTime: time,
                                swap: .zero, commission: .zero)
        return Snapshot(account: AccountReport(time: time, balance: 10_000, credit: .zero, equity: 10_000, margin: .zero),
                        symbols: [spec], positions: [position], quotes: [quote])
    }

    /// Broker-time ticks, `days` later than the file's.
    func shifted(days: Int) -> [Tick] {
        ticks.map { Tick(symbol: $0.symbol, time: BrokerTime(milliseconds: $0.time.milliseconds + Self.offset + Int64(days) * 86_400_000),
                         bid: $0.bid, ask: $0.ask) }
    }

    func scripts(dayOffset: Int) -> [TerminalScript] {
        let local = shifted(days: dayOffset)
        var stream: [TerminalMessage] = []
        var index = 1
        while index < local.count {
            stream.append(.ticks(Array(local[index..<min(local.count, index + batch)])))
            index += batch
        }
        let snapshot = Self.snapshot(at: local[0].time, quote: local[0])
        return (0..<terminals).map { terminal in
            TerminalScript(hello: Self.hello(Self.account(terminal)), initialSnapshot: snapshot, stream: stream)
        }
    }

    /// The latency phase's background: the same prices, but each terminal at a steady rate (the
    /// day's mean tick interval) and the terminals staggered across one message interval, so the
    /// load is the chosen fraction of the throughput at every moment: an open-loop constant-rate
    /// load, as latency is usually measured. (With the recorded times, a thousand terminals burst
    /// in lockstep at the market's busy moments, and replayed hundreds of times faster than real
    /// time those bursts exceed any capacity for a while: that measures a queue, not the agent.)
    /// - Parameters:
    ///   - count: ticks per terminal (the file's prices over and over).
    ///   - batch: ticks per message, all due at the first one's time (an EA's timer pass).
    func steadyScripts(dayOffset: Int, count: Int, batch: Int) -> [TerminalScript] {
        let local = shifted(days: dayOffset)
        let start = local[0].time.milliseconds
        let interval = Double(local[local.count - 1].time.milliseconds - start) / Double(max(1, local.count - 1))
        let snapshot = Self.snapshot(at: local[0].time, quote: local[0])
        // Terminals in the same phase share one stream (one array, encoded once by the simulator):
        // a thousand distinct streams of a high load are gigabytes of ticks to build and encode.
        let phases = min(terminals, Self.steadyPhases)
        let streams = (0..<phases).map { group in
            let phase = interval * Double(batch) * Double(group) / Double(phases)
            // The first message sets the pacing origin at the same broker time for every terminal.
            var stream: [TerminalMessage] = [.heartbeat(BrokerTime(milliseconds: start))]
            var index = 1
            while index <= count {
                let upper = min(count + 1, index + batch)
                // The first batch is due at the group's phase: every terminal streams within one message interval.
                let due = BrokerTime(milliseconds: start + Int64((Double(index - 1) * interval + phase).rounded()))
                stream.append(.ticks((index..<upper).map {
                    let price = local[1 + ($0 - 1) % (local.count - 1)]
                    return Tick(symbol: price.symbol, time: due, bid: price.bid, ask: price.ask)
                }))
                index = upper
            }
            return stream
        }
        return (0..<terminals).map { terminal in
            TerminalScript(hello: Self.hello(Self.account(terminal)), initialSnapshot: snapshot, stream: streams[terminal % phases])
        }
    }

    /// Distinct send phases of the steady background: a thousand terminals send in 100 groups of
    /// ten, spread evenly over one message interval (2 ms apart with a 200 ms timer).
    static let steadyPhases = 100

    /// Tick data rate of all terminals at 1× (ticks per broker second).
    var dataTicksPerSecondAllTerminals: Double {
        let span = Double(ticks.last!.time.milliseconds - ticks.first!.time.milliseconds) / 1_000
        return Double(ticks.count * terminals) / max(1, span)
    }

    /// A lifetime tracker per terminal whose threshold is never reached (the risk core works on
    /// every tick, no event), and one per probe that its breach tick crosses.
    func rules() throws -> Data {
        var declarations: [[String: Any]] = []
        for terminal in 0..<terminals {
            declarations.append(["action": "createTracker", "tracker": [
                "id": "load-\(terminal)", "accountId": Self.account(terminal).rawValue, "name": "load", "period": "day",
                "absoluteDrawdownThreshold": 1_000_000,
            ] as [String: Any]])
        }
        for probe in 0..<probes {
            declarations.append(["action": "createTracker", "tracker": [
                "id": Self.probeTracker(probe), "accountId": Self.probeAccount(probe).rawValue, "name": "probe", "period": "lifetime",
                "absoluteDrawdownThreshold": 100,
            ] as [String: Any]])
        }
        return try JSONSerialization.data(withJSONObject: ["declarations": declarations])
    }

    /// The same messages through AgentCore in this process: the engine + risk core figure.
    func inProcessTicksPerSecond() -> Double {
        var core = AgentCore()
        var effects = AgentCore.Effects()
        for terminal in 0..<terminals {
            _ = try? core.declare(.createTracker(TrackerDefinition(id: "load-\(terminal)", accountId: Self.account(terminal), name: "load",
                                                                period: .day, absoluteDrawdownThreshold: 1_000_000)), into: &effects)
        }
        let scripts = scripts(dayOffset: 0)
        var deliveries: [BridgeDelivery] = []
        for (terminal, script) in scripts.enumerated() {
            let account = Self.account(terminal)
            deliveries.append(BridgeDelivery(account: account, sessionID: "s", sequence: 1, message: .hello(script.hello)))
            deliveries.append(BridgeDelivery(account: account, sessionID: "s", sequence: 2, message: .snapshot(script.initialSnapshot)))
        }
        for message in scripts[0].stream.indices {
            for terminal in 0..<terminals {
                deliveries.append(BridgeDelivery(account: Self.account(terminal), sessionID: "s", sequence: UInt64(message + 3),
                                                 message: scripts[terminal].stream[message]))
            }
        }
        let wallClock = Int64(Date().timeIntervalSince1970 * 1_000)
        let start = ContinuousClock.now
        for delivery in deliveries {
            core.apply(delivery, wallClock: wallClock, into: &effects)
            if effects.riskOutputs.count > 1_000 || effects.latestObservation.count > 10_000 { effects = AgentCore.Effects() }
        }
        let throughput = Double(terminals * ticks.count) / (ContinuousClock.now - start).seconds
        let encodeStart = ContinuousClock.now
        let checkpoint = (try? core.checkpoint()) ?? Data()
        print("checkpoint of that core: \(checkpoint.count) bytes, encoded in \(String(format: "%.1f", (ContinuousClock.now - encodeStart).milliseconds)) ms")
        return throughput
    }
}
