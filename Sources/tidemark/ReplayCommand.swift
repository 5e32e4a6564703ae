import AgentFold
import ArgumentParser
import Foundation
import RiskCore
import TidemarkProtocol

/// `tidemark replay RECORDING [--rules FILE]`: folds a recording offline through the agent's own
/// fold (`RecordingReplay` over `AgentCore`: the same order, resend rules and refusals as the
/// live agent) and prints a JSON report in the REST API's shapes (``ReplayReport``).
///
/// The rules file's declarations apply before the first line, as the agent applies its rules file
/// at start; `declare` lines (protocol/RULES.md) apply where they stand, and `time` lines (the
/// wall clock the agent fed to a quiet account) too. Unreadable lines and refused declarations and
/// inputs are listed in `problems`.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Fold a recording offline as the agent would; print a JSON report in the API's shapes.",
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
        var replay = RecordingReplay(recordingName: recording, rulesName: rules)
        if let rules {
            do { try replay.applyRules(Data(contentsOf: URL(fileURLWithPath: rules))) } catch let error as RiskCoreError
            {
                throw ValidationError("\(rules): \(error.detail)")
            }
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: recording)))
        replay.play(RecordingReader(bytes: bytes))
        let encoder = ReplayReport.encoder(compact: compact)
        FileHandle.standardOutput.write(try encoder.encode(ReplayReport(replay)))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
