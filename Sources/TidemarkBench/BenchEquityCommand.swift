import ArgumentParser
import EquityEngine
import TidemarkProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `tidemark bench equity`: the equity engine's tick throughput and memory, on one core.
///
/// Each account is a USD MT5 hedging account with 10 positions: 5 on EURUSD (the ticked symbol, mixed
/// buys and sells of 0.01…0.05 lots) and 5 on other symbols (GBPUSD, USDJPY, XAUUSD, EURGBP through
/// GBPUSD, US30) that the EURUSD ticks must not touch. All accounts read one shared feed, which the
/// real EURUSD ticks of a day drive (replayed again, a day later each time, until enough revaluations
/// are done). Observations are produced and appended to a reused buffer, as the agent would.
///
/// Memory: the growth of the resident set (/proc/self/statm) while building the accounts, divided by
/// the number of accounts: an upper bound (it includes the engine's array capacity slack, the account
/// ids, and freed temporaries malloc keeps). glibc's `mallinfo2` would be tighter, but Swift's Glibc
/// module does not export <malloc.h>, and a C shim target is not worth a shared-file change.
struct BenchEquityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "equity",
        abstract: "Equity engine: ticks/s and position revaluations/s per core; bytes per 10-position account."
    )

    @Option(help: "The real ticks to replay (CSV: time_utc_ms,bid,ask,…).")
    var ticks = "../shared/data/ticks/EURUSD-2019-02-04.csv"

    @Option(parsing: .upToNextOption, help: "Account counts to measure.")
    var accounts: [Int] = [1, 1_000, 100_000]

    @Option(help: "Minimum position revaluations per measurement.")
    var revaluations = 30_000_000

    func run() throws {
        let rows = try TickFile.load(ticks)
        print("equity engine bench: \(rows.count) EURUSD ticks from \(ticks); 10 positions per account (5 on EURUSD)")
        print("accounts    ticks       seconds  ticks/s       revaluations/s  observations/s")
        for count in accounts {
            var engine = Self.makeEngine(accounts: count, sharedFeed: true)
            let result = Self.drive(&engine, rows: rows, minimumRevaluations: revaluations)
            print(pad(count, 11) + pad(result.ticks, 12) + pad(result.seconds, 9) + pad(Int(Double(result.ticks) / result.seconds), 14)
                  + pad(Int(Double(result.revaluations) / result.seconds), 16) + pad(Int(Double(result.observations) / result.seconds), 14))
        }
        print("")
        print("memory per account (10 positions), 100,000 accounts:")
        for shared in [true, false] {
            let resident = Self.measureMemory(accounts: 100_000, sharedFeed: shared)
            print("  \(shared ? "shared feed " : "private feed"): \(resident) bytes/account (resident-set growth)")
        }
    }

    // MARK: - Setup

    static let symbols: [SymbolSpec] = [
        spec("EURUSD", base: "EUR", profit: "USD"),
        spec("GBPUSD", base: "GBP", profit: "USD"),
        spec("USDJPY", tickSize: "0.001", base: "USD", profit: "JPY", digits: 3),
        spec("XAUUSD", calcMode: .cfd, contractSize: 100, tickSize: "0.01", base: "XAU", profit: "USD", digits: 2),
        spec("EURGBP", base: "EUR", profit: "GBP"),
        spec("US30", calcMode: .cfdIndex, contractSize: 1, tickSize: "0.1", base: "USD", profit: "USD", digits: 1),
    ]

    static func spec(_ name: String, calcMode: CalcMode = .forex, contractSize: FixedDecimal = 100_000,
                     tickSize: FixedDecimal = "0.00001", base: String, profit: String, digits: Int = 5) -> SymbolSpec {
        SymbolSpec(name: name, digits: digits, calcMode: calcMode, contractSize: contractSize, tickSize: tickSize,
                   tickValue: 1, profitCurrency: profit, marginCurrency: base, baseCurrency: base)
    }

    static func makeEngine(accounts count: Int, sharedFeed: Bool) -> EquityEngine {
        var engine = EquityEngine(configuration: .init(sharedFeedByServer: sharedFeed ? ["Bench": "bench"] : [:]))
        let time = BrokerTime(milliseconds: 1_549_238_400_000)
        let quotes = [
            Tick(symbol: "EURUSD", time: time, bid: "1.14543", ask: "1.14545"),
            Tick(symbol: "GBPUSD", time: time, bid: "1.30500", ask: "1.30520"),
            Tick(symbol: "USDJPY", time: time, bid: "109.900", ask: "109.920"),
            Tick(symbol: "XAUUSD", time: time, bid: "1311.50", ask: "1311.80"),
            Tick(symbol: "EURGBP", time: time, bid: "0.87700", ask: "0.87710"),
            Tick(symbol: "US30", time: time, bid: "25100.0", ask: "25102.0"),
        ]
        for index in 0..<count {
            let login = Int64(1_000_000 + index)
            let id = AccountID(server: "Bench", login: login)
            let hello = Hello(platform: .mt5, terminalBuild: 4000, login: login, server: "Bench", company: "Bench",
                              currency: "USD", currencyDigits: 2, marginMode: .retailHedging, leverage: 100,
                              eaVersion: "bench", brokerUTCOffsetSeconds: 7200, sessionID: "bench-\(login)")
            var positions: [Position] = []
            for k in 0..<5 {
                let open = FixedDecimal(units: 114_400_000 + Int64((index * 7 + k * 13) % 300) * 1_000)
                positions.append(Position(ticket: login * 100 + Int64(k), symbol: "EURUSD", side: k % 2 == 0 ? .buy : .sell,
                                          volume: FixedDecimal(units: Int64(k + 1) * 1_000_000), openPrice: open, openTime: time))
            }
            let others: [(String, Side, FixedDecimal)] = [
                ("GBPUSD", .buy, "1.30000"), ("USDJPY", .sell, "110.000"), ("XAUUSD", .buy, "1300.00"),
                ("EURGBP", .buy, "0.87500"), ("US30", .sell, "25200.0"),
            ]
            for (k, other) in others.enumerated() {
                positions.append(Position(ticket: login * 100 + Int64(5 + k), symbol: other.0, side: other.1,
                                          volume: "0.10", openPrice: other.2, openTime: time))
            }
            let snapshot = Snapshot(account: AccountReport(time: time, balance: 10_000, credit: 0, equity: 10_000, margin: 0),
                                    symbols: symbols, positions: positions, quotes: quotes)
            do {
                _ = try engine.apply(.hello(hello), account: id)
                _ = try engine.apply(.snapshot(snapshot), account: id)
            } catch {
                fatalError("bench setup refused: \(error)")
            }
        }
        return engine
    }

    // MARK: - Measurement

    struct Result {
        var ticks = 0
        var revaluations = 0
        var observations = 0
        var seconds = 0.0
    }

    static func drive(_ engine: inout EquityEngine, rows: [Tick], minimumRevaluations: Int) -> Result {
        var outputs: [EquityOutput] = []
        var batch = [rows[0]]
        let before = engine.statistics
        let clock = ContinuousClock()
        let start = clock.now
        var day: Int64 = 1
        var ticks = 0
        outer: while true {
            for row in rows {
                batch[0] = Tick(symbol: row.symbol, time: BrokerTime(milliseconds: row.time.milliseconds + day * 86_400_000),
                                bid: row.bid, ask: row.ask)
                engine.applyTicks(batch, feed: "bench", into: &outputs)
                outputs.removeAll(keepingCapacity: true)
                ticks += 1
                if ticks & 63 == 0, engine.statistics.revaluations - before.revaluations >= minimumRevaluations {
                    break outer
                }
            }
            day += 1
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Result(ticks: ticks, revaluations: engine.statistics.revaluations - before.revaluations,
                      observations: engine.statistics.observations - before.observations, seconds: seconds)
    }

    static func measureMemory(accounts count: Int, sharedFeed: Bool) -> Int {
        let residentBefore = residentBytes()
        let engine = makeEngine(accounts: count, sharedFeed: sharedFeed)
        let residentAfter = residentBytes()
        withExtendedLifetime(engine) {}
        return (residentAfter - residentBefore) / count
    }

    static func residentBytes() -> Int {
        #if canImport(Glibc)
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard withUnsafeMutablePointer(to: &size, { sizePointer in
            withUnsafeMutablePointer(to: &resident) { residentPointer in
                fscanfStatm(file, sizePointer, residentPointer)
            }
        }) else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }

    #if canImport(Glibc)
    /// Reads the first two numbers of /proc/self/statm (size and resident pages).
    static func fscanfStatm(_ file: UnsafeMutablePointer<FILE>, _ size: UnsafeMutablePointer<Int>,
                            _ resident: UnsafeMutablePointer<Int>) -> Bool {
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return false }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        let fields = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let first = Int(fields[0]), let second = Int(fields[1]) else { return false }
        size.pointee = first
        resident.pointee = second
        return true
    }
    #endif
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text + String(repeating: " ", count: max(1, width - text.count))
}

private func pad(_ value: Double, _ width: Int) -> String {
    let text = String(Double(Int(value * 1000)) / 1000)
    return text + String(repeating: " ", count: max(1, width - text.count))
}
