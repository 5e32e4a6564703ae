import ArgumentParser
import Foundation
import Simulator
import TidemarkProtocol

/// `tidemark make-recording`: real ticks + a trade script → a JSON Lines recording.
struct MakeRecordingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-recording",
        abstract: "Turn tick CSV files and a trade script into a recording (JSON Lines).",
        discussion:
            "Tick files: time_utc_ms,bid,ask,… (the symbol is the file name's prefix, EURUSD-2019-02-04.csv → EURUSD). "
            + "Script: one action a line, `2019-02-04 10:00:00 open buy 1.00` in broker time; see protocol/README.md."
    )

    @Option(name: .long, help: "A tick CSV file (repeat for more days or symbols).")
    var ticks: [String]

    @Option(name: .long, help: "The trade script.")
    var script: String

    @Option(name: .long, help: "Where to write the recording.")
    var out: String

    @Option(name: .long, help: "Broker time minus UTC, in hours.")
    var brokerOffsetHours = 2

    @Option(name: .long, help: "The account's trade server name.")
    var server = "Tidemark-Sim"

    @Option(name: .long, help: "The account's login.")
    var login: Int64 = 1_000_001

    @Option(name: .long, help: "mt5 or mt4.")
    var platform = "mt5"

    @Option(name: .long, help: "A report with the terminal's equity after every N ticks (0: only at the end).")
    var every = 1_000

    @Option(name: .long, help: "At most N quotes per ticks message.")
    var batch = 50

    func validate() throws {
        guard Platform(rawValue: platform) != nil else { throw ValidationError("--platform must be mt5 or mt4") }
        guard (-14...14).contains(brokerOffsetHours) else {
            throw ValidationError("--broker-offset-hours must be in -14…14")
        }
        guard every >= 0 else { throw ValidationError("--every must be ≥ 0") }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1") }
        guard login > 0, !server.isEmpty, !server.contains(":") else {
            throw ValidationError("--login must be positive and --server non-empty, without ':'")
        }
        guard !ticks.isEmpty else { throw ValidationError("give at least one --ticks file") }
    }

    func run() throws {
        var sourceTicks: [SourceTick] = []
        for path in ticks {
            sourceTicks += try TickCSV.parse(try read(path), symbol: TickCSV.symbol(fromFileName: path))
        }
        let tradeScript = try TradeScript.parse(String(decoding: try read(script), as: UTF8.self))
        var configuration = RecordingBuilder.Configuration()
        configuration.platform = Platform(rawValue: platform)!
        configuration.server = server
        configuration.login = login
        configuration.brokerOffsetHours = brokerOffsetHours
        configuration.reportEveryTicks = every
        configuration.ticksPerMessage = batch
        let lines = try RecordingBuilder(configuration: configuration).build(ticks: sourceTicks, script: tradeScript)
        try Data(RecordingWriter.encode(lines)).write(to: URL(fileURLWithPath: out))
        print("wrote \(lines.count) lines (\(sourceTicks.count) ticks, \(tradeScript.actions.count) actions) to \(out)")
    }

    private func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        return [UInt8](data)
    }
}
