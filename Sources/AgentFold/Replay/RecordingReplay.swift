import EquityEngine
import Foundation
import RiskCore
import TidemarkProtocol

/// The offline fold behind `tidemark replay`: a recording (and declarations) in, through the
/// agent's own ``AgentCore``, so a replay folds in the agent's order, with its resend rules, its
/// declaration limits and its refusals. Pure: the caller reads the files, so replays are tests too.
///
/// Per recording line:
/// - a terminal message goes to ``AgentCore/apply(_:wallClock:into:)`` as the bridge would have
///   delivered it, with no wall clock (the agent records only what it folded, see
///   ``AgentCore/apply(_:wallClock:into:)``);
/// - a `declare` line (protocol/RULES.md) goes to ``AgentCore/declare(_:into:)`` where it stands;
/// - a `time` line (``TimeDirective``: the agent's wall clock fed to a quiet account, protocol/SPEC.md
///   §8) goes to ``AgentCore/advanceClock(of:to:into:)``.
///
/// What the report needs beside the risk core's final state is collected as it goes: every risk
/// output, each account's equity over the replay (``EquitySummary``), every tracker declared, and
/// what could not be read or was refused (``Problem``).
public struct RecordingReplay {
    /// One refused or unreadable line of the recording or the rules file.
    public struct Problem: Hashable, Sendable {
        /// The recording's or the rules file's name.
        public var source: String
        /// The 1-based line (of the recording), or the declaration's 1-based index (of the rules
        /// file); nil when the problem is on neither.
        public var line: Int?
        /// A short, label-like reason.
        public var error: String
        /// What exactly was wrong.
        public var detail: String

        /// A problem with every field given.
        public init(source: String, line: Int?, error: String, detail: String) {
            self.source = source
            self.line = line
            self.error = error
            self.detail = detail
        }
    }

    /// An account's balance and equity over the replay, from every observation its equity engine
    /// made (resent ones included), and how often its equity drifted or became unknown.
    public struct EquitySummary: Hashable, Sendable {
        /// Observations made.
        public var observations = 0
        /// The first observation.
        public var first: EquityObservation?
        /// The last observation.
        public var last: EquityObservation?
        /// The first observation with the lowest equity.
        public var lowest: EquityObservation?
        /// The first observation with the highest equity.
        public var highest: EquityObservation?
        /// Times the terminal's own equity differed from the reconstruction beyond the tolerance.
        public var drifts = 0
        /// Times equity became unknown (a missing quote or conversion rate).
        public var equityUnknownEvents = 0

        /// An empty summary.
        public init() {}

        mutating func observed(_ observation: EquityObservation) {
            observations += 1
            if first == nil { first = observation }
            last = observation
            if lowest.map({ observation.equity < $0.equity }) ?? true { lowest = observation }
            if highest.map({ observation.equity > $0.equity }) ?? true { highest = observation }
        }
    }

    /// The fold, with its final state (``AgentCore/risk``, ``AgentCore/equity``).
    public private(set) var core: AgentCore
    /// Every output of the risk core, in order.
    public private(set) var outputs: [RiskOutput] = []
    /// What could not be read or was refused, in order.
    public private(set) var problems: [Problem] = []
    /// Lines of the recording read.
    public private(set) var linesRead = 0
    /// Per account with observations or drifts, its equity over the replay.
    public private(set) var equitySummaries: [AccountID: EquitySummary] = [:]
    /// Every tracker declared, in declaration order, as applied (a deleted one keeps its history
    /// in the report).
    public private(set) var declaredTrackers: [TrackerDefinition] = []
    /// Risk inputs skipped as already folded: what a reconnected terminal resent
    /// (``AgentCore/Effects/skippedResent``).
    public private(set) var skippedResentInputs = 0
    /// The recording's name, for its problems.
    public let recordingName: String
    /// The rules file's name, for its problems.
    public let rulesName: String?

    /// A replay into a fresh core. `recordingName` and `rulesName` label the problems.
    public init(recordingName: String, rulesName: String? = nil, configuration: AgentCore.Configuration = .init()) {
        core = AgentCore(configuration: configuration)
        self.recordingName = recordingName
        self.rulesName = rulesName
    }

    // MARK: Declarations

    /// Applies a rules file's declarations (`{"declarations": [ … ]}`, protocol/RULES.md), each on
    /// its own, as the agent applies its rules file at start: a refused one is listed in
    /// ``problems`` and the rest apply. Throws when the file is not of that shape.
    public mutating func applyRules(_ data: Data) throws(RiskCoreError) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let declarations = object["declarations"] as? [Any]
        else { throw RiskCoreError.invalidDeclaration.with(detail: "expected {\"declarations\": [ … ]}") }
        for (index, declaration) in declarations.enumerated() {
            // An element of a parsed JSON array always serializes back.
            let json =
                (try? JSONSerialization.data(withJSONObject: declaration, options: [.fragmentsAllowed])) ?? Data()
            declare(json, source: rulesName ?? "rules", line: index + 1)
        }
    }

    /// Decodes one declaration and applies it through ``AgentCore/declare(_:into:)``, listing it
    /// in ``problems`` when unreadable or refused.
    public mutating func declare(_ json: Data, source: String, line: Int?) {
        let command: RiskCommand
        do {
            command = try JSONDecoder().decode(RiskCommand.self, from: json)
        } catch {
            problems.append(
                Problem(
                    source: source, line: line, error: RiskCoreError.invalidDeclaration.description,
                    detail: "\(error)"))
            return
        }
        var effects = AgentCore.Effects(collectingEveryOutput: true)
        do {
            let applied = try core.declare(command, into: &effects)
            if case .createTracker(let definition) = applied { declaredTrackers.append(definition) }
        } catch {
            problems.append(Problem(source: source, line: line, error: error.description, detail: error.detail))
        }
        collect(effects, line: line, source: source)
    }

    // MARK: Recording

    /// Plays every line of a recording.
    public mutating func play(_ reader: RecordingReader) {
        for entry in reader {
            linesRead += 1
            switch entry.result {
            case .failure(let error):
                problems.append(
                    Problem(source: recordingName, line: entry.lineNumber, error: error.code, detail: error.detail))
            case .success(.directive(let type, let json)):
                if type == "declare" { declare(Data(json), source: recordingName, line: entry.lineNumber) }
                if type == TimeDirective.type { advanceClock(json, line: entry.lineNumber) }
            case .success(.message(let account, let sessionID, let sequence, let message)):
                // A recording keeps the envelope when the agent wrote it; a hand-made one may not
                // (one unnamed session, numbered by line).
                let delivery = BridgeDelivery(
                    account: account, sessionID: sessionID ?? "", sequence: sequence ?? UInt64(entry.lineNumber),
                    message: message)
                var effects = AgentCore.Effects(collectingEveryOutput: true)
                core.apply(delivery, wallClock: nil, into: &effects)
                collect(effects, line: entry.lineNumber, source: recordingName)
            }
        }
    }

    /// Feeds a `time` line's time input, listing it in ``problems`` when unreadable.
    private mutating func advanceClock(_ json: [UInt8], line: Int) {
        guard let directive = TimeDirective(json: json) else {
            problems.append(
                Problem(
                    source: recordingName, line: line, error: RiskCoreError.invalidDeclaration.description,
                    detail: "a time line needs \"account\" (string) and \"time\" (integer ms)"))
            return
        }
        var effects = AgentCore.Effects(collectingEveryOutput: true)
        core.advanceClock(of: directive.account, to: directive.time, into: &effects)
        collect(effects, line: line, source: recordingName)
    }

    /// Keeps what one line's fold produced that the report needs.
    private mutating func collect(_ effects: AgentCore.Effects, line: Int?, source: String) {
        outputs += effects.riskOutputs
        skippedResentInputs += effects.skippedResent
        for output in effects.equityOutputs ?? [] {
            switch output {
            case .observation(let observation):
                equitySummaries[observation.account, default: EquitySummary()].observed(observation)
            case .drift(let drift):
                equitySummaries[drift.account, default: EquitySummary()].drifts += 1
            case .equityUnknown(let unknown):
                equitySummaries[unknown.account, default: EquitySummary()].equityUnknownEvents += 1
            case .balanceOperation, .equityKnown, .outOfRange, .inRange:
                // Out-of-range figures come as refusals, below.
                break
            }
        }
        for (account, reason) in effects.refused {
            problems.append(
                Problem(source: source, line: line, error: "message_refused", detail: "\(account): \(reason)"))
        }
        for (account, error) in effects.refusals ?? [] {
            problems.append(
                Problem(
                    source: source, line: line, error: error.reason.rawValue, detail: "\(account): \(error.detail)"))
        }
    }
}
