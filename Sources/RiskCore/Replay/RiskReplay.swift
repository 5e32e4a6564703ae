import EquityEngine
import Foundation
import TidemarkProtocol

/// The offline pipeline behind `tidemark replay`: a recording (and declarations) in, a report out.
/// Pure — the caller reads the files — so replays are tests too.
///
/// Per recording message: a deal or position update goes to the risk core first (so a deposit is
/// known before the observation that shows it), a snapshot's open positions likewise; then the
/// message goes to the equity engine and its observations go to the risk core; a heartbeat's time,
/// or a TICKS frame's latest time that no observation reached, follows (``RiskInput/time(after:of:latestObservation:)``).
/// `declare` lines (protocol/RULES.md) are applied where they stand, and so are `time` lines (the
/// agent's wall clock fed to a quiet account, protocol/SPEC.md §8).
public struct RiskReplay {
    /// The equity engine the recording is folded into.
    public private(set) var equity = EquityEngine()
    /// The risk engine fed with its observations and deals.
    public private(set) var risk = RiskEngine()
    private var collector = ReplayCollector()
    private var problems: [ReplayReport.Problem] = []
    private var linesRead = 0
    private var drifts: [AccountID: Int] = [:]
    private var equityUnknown: [AccountID: Int] = [:]
    private var splitSnapshots = SplitSnapshotAssembler()
    private let recordingName: String
    private let rulesName: String?
    /// Every output of the risk core, in order.
    public private(set) var outputs: [RiskOutput] = []

    /// `recordingName` and `rulesName` label the report and its problems.
    public init(recordingName: String, rulesName: String? = nil) {
        self.recordingName = recordingName
        self.rulesName = rulesName
    }

    /// Applies a rules file's declarations (`{"declarations": [ … ]}`), each on its own: a refused
    /// one is reported in the report's problems and the rest apply. Throws when the file is not of
    /// that shape.
    public mutating func applyRules(_ data: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let declarations = object["declarations"] as? [Any]
        else { throw RiskCoreError.invalidDeclaration.with(detail: "expected {\"declarations\": [ … ]}") }
        for (index, declaration) in declarations.enumerated() {
            let json = try JSONSerialization.data(withJSONObject: declaration)
            declare(json, source: rulesName ?? "rules", line: index + 1)
        }
    }

    /// Decodes and applies one declaration, reporting it when unreadable or refused.
    public mutating func declare(_ json: Data, source: String, line: Int?) {
        let command: RiskCommand
        do {
            command = try JSONDecoder().decode(RiskCommand.self, from: json)
        } catch {
            problems.append(
                .init(
                    source: source, line: line, error: RiskCoreError.invalidDeclaration.description,
                    detail: "\(error)"))
            return
        }
        do {
            outputs += try risk.apply(command)
            collector.declared(command)
        } catch {
            problems.append(.init(source: source, line: line, error: error.description, detail: error.detail))
        }
    }

    /// Plays every line of a recording.
    public mutating func play(_ reader: RecordingReader) {
        for entry in reader {
            linesRead += 1
            switch entry.result {
            case .failure(let error):
                problems.append(
                    .init(source: recordingName, line: entry.lineNumber, error: error.code, detail: error.detail))
            case .success(.directive(let type, let json)):
                if type == "declare" { declare(Data(json), source: recordingName, line: entry.lineNumber) }
                if type == TimeDirective.type { applyTime(json, line: entry.lineNumber) }
            case .success(.message(let account, let session, _, let message)):
                // A split snapshot folds once whole, as the agent folds it (protocol/SPEC.md §6.8).
                let assembly = splitSnapshots.assemble(message, account: account, sessionID: session ?? "")
                if let interrupted = assembly.interrupted {
                    problems.append(
                        .init(
                            source: recordingName, line: entry.lineNumber, error: "split_snapshot_interrupted",
                            detail: "\(interrupted.positions.count) of \(interrupted.positionCount ?? 0) positions"))
                }
                for part in assembly.messages { apply(part, account: account, line: entry.lineNumber) }
            }
        }
    }

    /// Feeds a `time` directive's time input, reporting it when unreadable.
    private mutating func applyTime(_ json: [UInt8], line: Int) {
        guard let directive = TimeDirective(json: json) else {
            problems.append(
                .init(
                    source: recordingName, line: line, error: RiskCoreError.invalidDeclaration.description,
                    detail: "a time line needs \"account\" (string) and \"time\" (integer ms)"))
            return
        }
        feed(.time(directive.account, directive.time), line: line)
    }

    private mutating func feed(_ input: RiskInput, line: Int) {
        let produced = risk.apply(input)
        guard !produced.isEmpty else { return }
        for case .inputRefused(let refusal) in produced {
            problems.append(
                .init(
                    source: recordingName, line: line, error: refusal.reason.rawValue,
                    detail: "\(refusal.component) skipped the input"))
        }
        collector.collect(produced)
        outputs += produced
    }

    /// In the live fold's order (`AgentCore`): the equity engine first, its outputs held back; then
    /// the message's own risk input (not a deal the engine refused as out of range), then the
    /// observations.
    private mutating func apply(_ message: TerminalMessage, account: AccountID, line: Int) {
        var outputs: [EquityOutput] = []
        var engineRefusedDeal = false
        do {
            outputs = try equity.apply(message, account: account)
        } catch {
            problems.append(.init(source: recordingName, line: line, error: error.description, detail: error.detail))
            engineRefusedDeal = error.isOutOfRange
        }
        switch message {
        case .deal(let deal) where !engineRefusedDeal: feed(.deal(account, deal), line: line)
        case .position(let update): feed(.position(account, update), line: line)
        case .snapshot(let snapshot):
            feed(.openPositions(account, snapshot.positions, at: snapshot.account.time), line: line)
        default: break
        }
        var latestObservation: BrokerTime?
        for output in outputs {
            switch output {
            case .observation(let observation):
                collector.observed(
                    EquityObservationSummary(
                        account: observation.account, time: observation.time,
                        balance: observation.balance, equity: observation.equity))
                feed(.observation(observation), line: line)
                latestObservation = observation.time
            case .drift(let drift):
                drifts[drift.account, default: 0] += 1
            case .equityUnknown(let unknown):
                equityUnknown[unknown.account, default: 0] += 1
            case .outOfRange(let notice):
                problems.append(
                    .init(
                        source: recordingName, line: line, error: "out_of_range",
                        detail: "\(notice.account) \(notice.figure.rawValue) outside the decimal range"))
            case .balanceOperation, .equityKnown, .inRange:
                break
            }
        }
        if let time = RiskInput.time(after: message, of: account, latestObservation: latestObservation) {
            feed(time, line: line)
        }
    }

    /// The report of everything played so far.
    public func report() -> ReplayReport {
        var report = collector.report(
            engine: risk, recording: recordingName, rules: rulesName, linesRead: linesRead,
            problems: problems)
        for index in report.accounts.indices {
            let accountId = report.accounts[index].accountId
            report.accounts[index].equity.drifts = drifts[accountId] ?? 0
            report.accounts[index].equity.equityUnknownEvents = equityUnknown[accountId] ?? 0
            report.accounts[index].challenges = risk.challenges(accountId: accountId).map {
                ReplayReport.ChallengeReport(
                    progress: $0.progress, events: collector.challengeEvents[$0.definition.id] ?? [])
            }
        }
        report.competitions = risk.allCompetitions.map {
            ReplayReport.CompetitionReport(
                id: $0.definition.id, status: $0.status.rawValue, leaderboard: $0.leaderboard,
                events: collector.competitionEvents[$0.definition.id] ?? [])
        }
        return report
    }
}

/// A recording line `{"type":"time","account":"…","time":<ms>}`: the agent fed its wall clock, in
/// the account's broker time, to a quiet account (``RiskInput/time(_:_:)``). The agent writes it
/// where it happened, so that `tidemark replay` folds the same sequence.
public struct TimeDirective: Hashable, Sendable {
    /// The directive's `type`.
    public static let type = "time"
    /// The account whose clock moved.
    public var account: AccountID
    /// The broker time it moved to.
    public var time: BrokerTime

    /// A directive.
    public init(account: AccountID, time: BrokerTime) {
        self.account = account
        self.time = time
    }

    private struct Line: Codable {
        var type: String
        var account: String
        var time: Int64
    }

    /// Reads a directive line; nil when a field is missing or of the wrong type.
    public init?(json: [UInt8]) {
        guard let line = try? JSONDecoder().decode(Line.self, from: Data(json)), line.type == Self.type,
            !line.account.isEmpty
        else { return nil }
        self.init(account: AccountID(line.account), time: BrokerTime(milliseconds: line.time))
    }

    /// The line's JSON (without the line feed), keys sorted like every recording line.
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding three plain fields cannot fail.
        return Array(
            (try? encoder.encode(Line(type: Self.type, account: account.rawValue, time: time.milliseconds))) ?? Data())
    }
}
