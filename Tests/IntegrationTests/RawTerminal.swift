import Foundation
import Testing
import TidemarkProtocol
import ZeroMQ

/// A terminal written by hand: one DEALER (CURVE when keys are given) that sends whatever frames a
/// test wants and reads the agent's answers, to play the intruder and the flood.
final class RawTerminal {
    private let context: ZMQContext
    private let socket: ZMQSocket
    private(set) var sessionID: String
    private var sequence: UInt64 = 0
    /// Every message of this terminal's sessions the agent sent, in the order read.
    private(set) var received: [AgentMessage] = []

    init(endpoint: String, serverKey: CurveKey? = nil, keys: CurveKeyPair? = nil) throws {
        context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setOption(.linger, 0)
        // A DEALER with no connected peer (a refused CURVE handshake) blocks in send: never for long.
        try socket.setOption(.sendTimeout, 5_000)
        if let serverKey, let keys { try socket.makeCurveClient(serverKey: serverKey, keys: keys) }
        try socket.connect(endpoint)
        sessionID = Self.newSessionID()
    }

    deinit { context.shutdown() }

    static func newSessionID() -> String { "raw-" + UUID().uuidString.prefix(12).lowercased() }

    /// Starts a new session on the same connection (the next HELLO supersedes the last session).
    func restartSession() {
        sessionID = Self.newSessionID()
        sequence = 0
    }

    /// Sends `message` as the session's next frame (a HELLO takes the session id).
    func send(_ message: TerminalMessage) throws {
        sequence += 1
        var message = message
        if case .hello(var hello) = message {
            hello.sessionID = sessionID
            message = .hello(hello)
        }
        try socket.send(WireEncoder.encode(Envelope(sessionID: sessionID, sequence: sequence, message: message)))
    }

    /// The next agent message for this session that `matches` (others are skipped), or nil
    /// after `seconds`.
    func next(within seconds: Double, where matches: (AgentMessage) -> Bool = { _ in true }) throws -> AgentMessage? {
        let deadline = Date().addingTimeInterval(seconds)
        let poller = ZMQPoller()
        _ = poller.add(socket)
        while Date() < deadline {
            let left = Int(max(1, deadline.timeIntervalSinceNow * 1000))
            guard try poller.poll(timeoutMilliseconds: left) > 0, let bytes = try socket.tryReceive() else { continue }
            guard let envelope = try? WireDecoder.decodeAgent(bytes), envelope.sessionID == sessionID else { continue }
            received.append(envelope.message)
            if matches(envelope.message) { return envelope.message }
        }
        return nil
    }

    /// Connects and says `hello` (under this terminal's session id) until the agent answers it with
    /// a WELCOME: the first frames after a TCP connect can be lost (ZeroMQ's slow joiner).
    convenience init(endpoint: String, hello: Hello) throws {
        try self.init(endpoint: endpoint)
        for _ in 1...25 {
            sequence = 0
            try send(.hello(hello))
            if case .welcome = try handshakeAnswer(within: 0.4) { return }
        }
        throw HarnessError("no WELCOME from \(endpoint)")
    }

    /// WELCOME or REJECT, whichever answers the HELLO.
    func handshakeAnswer(within seconds: Double) throws -> AgentMessage? {
        try next(within: seconds) { message in
            switch message {
            case .welcome, .reject: true
            default: false
            }
        }
    }
}
