import ArgumentParser
import Foundation
import Simulator
import TidemarkProtocol

/// Real ticks for the benchmarks: one of `../shared/data/ticks/*.csv`, parsed by the Simulator's
/// ``TickCSV`` (the one reader of that format), with the UTC milliseconds as broker time.
enum TickFile {
    /// The file's ticks, as `EURUSD` quotes (the benches value EURUSD positions whatever the file).
    static func load(_ path: String) throws -> [Tick] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot open \(path) (pass the tick file's path)")
        }
        let ticks = try TickCSV.parse([UInt8](data), symbol: "EURUSD").map {
            Tick(symbol: $0.symbol, time: BrokerTime(milliseconds: $0.utcMilliseconds), bid: $0.bid, ask: $0.ask)
        }
        guard !ticks.isEmpty else { throw ValidationError("no ticks in \(path)") }
        return ticks
    }
}
