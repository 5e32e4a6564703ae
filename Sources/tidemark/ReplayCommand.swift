import ArgumentParser
import Foundation
import RiskCore
import TidemarkProtocol

/// `tidemark replay RECORDING [--rules FILE]`: runs a recording through the equity engine and the
/// risk core offline, exactly as the agent would, and prints a JSON report.
///
/// Per recording message: a deal or position update goes to the risk core first (so a deposit is
/// known before the observation that shows it), then the message goes to the equity engine and its
/// observations go to the risk core; a snapshot's open positions and a heartbeat's time follow.
/// `declare` lines (protocol/RULES.md) are applied where they stand; the rules file's declarations
/// before the first line. Unreadable lines and refused declarations are listed in `problems`.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recording through the equity engine and the risk core; print a JSON report.",
        discussion: "Declarations (trackers, challenges, competitions): `declare` lines in the recording and/or "
            + "--rules FILE ({\"declarations\": [...]}); see protocol/RULES.md."
    )

    @Argument(help: "The recording (JSON Lines).")
    var recording: String

    @Option(help: "A rules file: {\"declarations\": [ … ]} (protocol/RULES.md).")
    var rules: String?

    @Flag(help: "One line of JSON instead of indented output.")
    var compact = false

    func run() throws {
        var replay = RiskReplay(recordingName: recording, rulesName: rules)
        if let rules {
            do { try replay.applyRules(Data(contentsOf: URL(fileURLWithPath: rules))) } catch let error as RiskCoreError
            {
                throw ValidationError("\(rules): \(error.detail)")
            }
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: recording)))
        replay.play(RecordingReader(bytes: bytes))
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            compact
            ? [.sortedKeys, .withoutEscapingSlashes]
            : [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(replay.report()))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
