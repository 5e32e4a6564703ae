import ArgumentParser
import EquityEngine
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
        var replay = Replay(recordingName: recording, rulesName: rules)
        if let rules { try replay.applyRules(Data(contentsOf: URL(fileURLWithPath: rules))) }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: recording)))
        replay.play(RecordingReader(bytes: bytes))
        let encoder = JSONEncoder()
        encoder.outputFormatting = compact ? [.sortedKeys, .withoutEscapingSlashes]
                                           : [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(replay.report()))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// The offline pipeline behind `tidemark replay` (separate from the command so it can be tested).
struct Replay {
    var equity = EquityEngine()
    var risk = RiskEngine()
    var collector = ReplayCollector()
    var problems: [ReplayReport.Problem] = []
    var linesRead = 0
    var drifts: [AccountID: Int] = [:]
    var equityUnknown: [AccountID: Int] = [:]
    let recordingName: String
    let rulesName: String?

    init(recordingName: String, rulesName: String?) {
        self.recordingName = recordingName
        self.rulesName = rulesName
    }

    /// Applies a rules file's declarations, each on its own (a refused one is reported, the rest apply).
    mutating func applyRules(_ data: Data) throws {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let declarations = object["declarations"] as? [Any]
        else { throw ValidationError("\(rulesName ?? "rules"): expected {\"declarations\": [ … ]}") }
        for (index, declaration) in declarations.enumerated() {
            let json = try JSONSerialization.data(withJSONObject: declaration)
            declare(json, source: rulesName ?? "rules", line: index + 1)
        }
    }

    /// Decodes and applies one declaration, reporting it when unreadable or refused.
    mutating func declare(_ json: Data, source: String, line: Int?) {
        let command: RiskCommand
        do {
            command = try JSONDecoder().decode(RiskCommand.self, from: json)
        } catch {
            problems.append(.init(source: source, line: line, error: RiskCoreError.invalidDeclaration.description,
                                  detail: "\(error)"))
            return
        }
        do {
            try risk.apply(command)
            collector.declared(command)
        } catch {
            problems.append(.init(source: source, line: line, error: error.description, detail: error.detail))
        }
    }

    mutating func play(_ reader: RecordingReader) {
        for entry in reader {
            linesRead += 1
            switch entry.result {
            case .failure(let error):
                problems.append(.init(source: recordingName, line: entry.lineNumber, error: error.code, detail: error.detail))
            case .success(.directive(let type, let json)):
                if type == "declare" { declare(Data(json), source: recordingName, line: entry.lineNumber) }
            case .success(.message(let account, _, _, let message)):
                apply(message, account: account, line: entry.lineNumber)
            }
        }
    }

    private mutating func feed(_ input: RiskInput) {
        collector.collect(risk.apply(input))
    }

    private mutating func apply(_ message: TerminalMessage, account: AccountID, line: Int) {
        switch message {
        case .deal(let deal): feed(.deal(account, deal))
        case .position(let update): feed(.position(account, update))
        case .snapshot(let snapshot): feed(.openPositions(account, snapshot.positions, at: snapshot.account.time))
        default: break
        }
        let outputs: [EquityOutput]
        do {
            outputs = try equity.apply(message, account: account)
        } catch {
            problems.append(.init(source: recordingName, line: line, error: error.description, detail: error.detail))
            return
        }
        for output in outputs {
            switch output {
            case .observation(let observation):
                collector.observed(EquityObservationSummary(account: observation.account, time: observation.time,
                                                            balance: observation.balance, equity: observation.equity))
                feed(.observation(observation))
            case .drift(let drift):
                drifts[drift.account, default: 0] += 1
            case .equityUnknown(let unknown):
                equityUnknown[unknown.account, default: 0] += 1
            case .balanceOperation, .equityKnown:
                break
            }
        }
        if case .heartbeat(let time) = message { feed(.time(time)) }
    }

    func report() -> ReplayReport {
        var report = collector.report(engine: risk, recording: recordingName, rules: rulesName, linesRead: linesRead,
                                      problems: problems)
        for index in report.accounts.indices {
            let accountId = report.accounts[index].accountId
            report.accounts[index].equity.drifts = drifts[accountId] ?? 0
            report.accounts[index].equity.equityUnknownEvents = equityUnknown[accountId] ?? 0
            report.accounts[index].challenges = risk.challenges(accountId: accountId).map {
                ReplayReport.ChallengeReport(progress: $0.progress, events: collector.challengeEvents[$0.definition.id] ?? [])
            }
        }
        report.competitions = risk.allCompetitions.map {
            ReplayReport.CompetitionReport(id: $0.definition.id, status: $0.status.rawValue, leaderboard: $0.leaderboard,
                                           events: collector.competitionEvents[$0.definition.id] ?? [])
        }
        return report
    }
}
