import TidemarkProtocol

/// What one simulated terminal plays: who it is, where the account starts, and the messages that
/// follow, in recording order.
public struct TerminalScript: Hashable, Sendable {
    /// The account's hello (its session id is replaced by a fresh one per connection).
    public var hello: Hello
    /// The account's state when the terminal connects: the recording's first snapshot.
    public var initialSnapshot: Snapshot
    /// Everything after it, to be streamed. Hellos, byes and command acknowledgements of the
    /// original run are left out: the simulator runs its own sessions and answers its own commands.
    public var stream: [TerminalMessage]
    /// The reason of the BYE sent at the end (the recording's last bye, if any).
    public var byeReason: String

    /// The account this script plays.
    public var account: AccountID { hello.accountID }

    /// A script from its parts (see ``scripts(from:)`` to split a recording).
    public init(hello: Hello, initialSnapshot: Snapshot, stream: [TerminalMessage], byeReason: String = "simulation finished") {
        self.hello = hello
        self.initialSnapshot = initialSnapshot
        self.stream = stream
        self.byeReason = byeReason
    }

    /// Splits a recording's messages into one script per account, in order of first appearance.
    ///
    /// Every account needs a hello; messages before it are errors. When no snapshot follows the
    /// hello before other messages, the account starts empty (zero balance, no positions) at the
    /// time of its first message, and the messages are streamed on top.
    public static func scripts(
        from messages: some Sequence<(account: AccountID, message: TerminalMessage)>
    ) throws(SimulatorError) -> [TerminalScript] {
        var order: [AccountID] = []
        var building: [AccountID: ScriptUnderConstruction] = [:]
        for (account, message) in messages {
            guard var entry = building[account] else {
                guard case .hello(let hello) = message else {
                    throw SimulatorError.noHello(account: account)
                }
                order.append(account)
                building[account] = ScriptUnderConstruction(hello: hello)
                continue
            }
            switch message {
            case .hello:
                break // the original run reconnected; the simulator manages its own sessions
            case .bye(let reason):
                entry.byeReason = reason
            case .commandAcknowledgement:
                break // answers to the original run's commands, not to this agent's
            case .snapshot(let snapshot) where entry.snapshot == nil && entry.stream.isEmpty:
                entry.snapshot = snapshot
            default:
                entry.stream.append(message)
            }
            building[account] = entry
        }
        guard !order.isEmpty else { throw SimulatorError.emptyRecording }
        return order.map { account in
            let entry = building[account]!
            let start = entry.stream.lazy.compactMap(\.brokerTime).first ?? BrokerTime(milliseconds: 0)
            let snapshot = entry.snapshot ?? Snapshot(
                account: AccountReport(time: start, balance: .zero, credit: .zero, equity: .zero, margin: .zero),
                symbols: [], positions: [], quotes: [])
            return TerminalScript(hello: entry.hello, initialSnapshot: snapshot, stream: entry.stream,
                                  byeReason: entry.byeReason ?? "simulation finished")
        }
    }
}

extension TerminalMessage {
    /// The broker time the message carries (the first tick's for a batch), if any: what `--speed`
    /// schedules by.
    public var brokerTime: BrokerTime? {
        switch self {
        case .snapshot(let snapshot): snapshot.account.time
        case .ticks(let ticks): ticks.first?.time
        case .position(let update): update.time
        case .deal(let deal): deal.time
        case .report(let report): report.time
        case .heartbeat(let time): time
        case .commandAcknowledgement(let ack): ack.time
        case .hello, .symbol, .bye: nil
        }
    }
}

private struct ScriptUnderConstruction {
    var hello: Hello
    var snapshot: Snapshot?
    var stream: [TerminalMessage] = []
    var byeReason: String?
}

/// Why a simulation could not start.
public struct SimulatorError: TidemarkError {
    private enum Code: Hashable, Sendable {
        case noHello(AccountID)
        case emptyRecording
        case invalidOption(String)
        case system(String, errno: Int32)
    }
    private let kind: Code

    /// The recording has a message for `account` before that account's hello.
    public static func noHello(account: AccountID) -> SimulatorError { SimulatorError(kind: .noHello(account)) }
    /// The recording holds no terminal messages.
    public static let emptyRecording = SimulatorError(kind: .emptyRecording)
    /// A simulator option is out of range.
    public static func invalidOption(_ detail: String) -> SimulatorError { SimulatorError(kind: .invalidOption(detail)) }
    /// A system call failed (`call` set `errno`).
    public static func system(_ call: String, errno: Int32) -> SimulatorError { SimulatorError(kind: .system(call, errno: errno)) }

    /// A short label for logs and metrics.
    public var code: String {
        switch kind {
        case .noHello: "no_hello"
        case .emptyRecording: "empty_recording"
        case .invalidOption: "invalid_option"
        case .system: "system"
        }
    }

    public var description: String {
        switch kind {
        case .noHello(let account): "account \(account) has messages before its hello"
        case .emptyRecording: "the recording holds no terminal messages"
        case .invalidOption(let detail): "invalid option: \(detail)"
        case .system(let call, let number): "\(call) failed (errno \(number))"
        }
    }
}
