import ArgumentParser
import Foundation
import Logging
import Simulator
import TidemarkProtocol
import ZeroMQ

/// `tidemark simulate`: plays a recording into a running agent as one terminal per account.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Play a recording into a running agent, as MetaTrader terminals would.",
        discussion: """
            One DEALER session per account in the recording: HELLO and SNAPSHOT, then the recorded \
            messages, answering RESYNC, COMMAND and heartbeats like the EA, and finally BYE. Exits 0 when \
            every session was welcomed and the agent acknowledged everything; 1 when the agent rejected \
            a session (its reason on stderr); 3 on time-out or connection failure; 2 for bad input.
            """
    )

    @Option(name: .long, help: "The agent's bridge endpoint, e.g. tcp://127.0.0.1:5555.")
    var connect: String

    @Argument(help: "The recording (JSON Lines).")
    var recording: String

    @Option(name: .long, help: "Play at F × real time from the messages' times (default: as fast as possible).")
    var speed: Double?

    @Option(name: .customLong("server-key"), help: "The agent's CURVE public key (Z85) or a file holding it.")
    var serverKey: String?

    @Option(name: .customLong("client-key"), help: "The terminal's CURVE secret certificate (NAME.key_secret).")
    var clientKey: String?

    @Option(name: .customLong("drop-seq"), help: "Fault: sequence numbers not to send (comma-separated).")
    var dropSequences: String?

    @Option(name: .customLong("duplicate-seq"), help: "Fault: sequence numbers to send twice (comma-separated).")
    var duplicateSequences: String?

    @Option(
        name: .customLong("disconnect-after"), help: "Fault: reconnect with a new session after N recorded messages.")
    var disconnectAfter: Int?

    @Option(name: .long, help: "Give up after this many seconds without any answer from the agent.")
    var timeout: Double = 30

    @Option(name: .long, help: "Poll-loop threads for the sessions.")
    var threads: Int = 2

    func run() async throws {
        let scripts: [TerminalScript]
        let connection: SimulatorConnection
        let faults: SimulatorFaults
        do {
            scripts = try Self.readScripts(path: recording)
            faults = SimulatorFaults(
                dropSequences: try Self.sequences(dropSequences, option: "--drop-seq"),
                duplicateSequences: try Self.sequences(duplicateSequences, option: "--duplicate-seq"),
                disconnectAfterMessages: disconnectAfter)
            connection = SimulatorConnection(
                endpoint: connect, serverKey: try serverKey.map(Self.serverKey),
                clientKeys: try clientKey.map { try CurveKeyPair(certificateFile: $0) })
        } catch {
            Self.printError("tidemark simulate: \(error)")
            throw ExitCode(2)
        }
        guard timeout > 0 else {
            Self.printError("tidemark simulate: --timeout must be positive")
            throw ExitCode(2)
        }
        let pacing = SimulatorPacing(speed: speed, stallTimeout: .milliseconds(Int64(timeout * 1000)))
        var logger = Logger(label: "tidemark.simulate")
        logger.logLevel = .warning  // the summary below says how each session ended
        let simulator: TerminalSimulator
        do {
            simulator = try TerminalSimulator(
                connection: connection, pacing: pacing, faults: faults,
                threads: threads, maxSessions: scripts.count, logger: logger)
        } catch {
            Self.printError("tidemark simulate: \(error)")
            throw ExitCode(2)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let results = try await simulator.run(scripts)
        let elapsed = clock.now - started

        var exitCode: Int32 = 0
        for result in results {
            let stats = result.statistics
            let summary =
                "\(result.account): \(result.outcome) — \(stats.recordedMessagesSent) recorded messages, "
                + "\(stats.framesSent) frames, \(stats.sessionsStarted) session(s), acknowledged up to \(stats.highestAcknowledged)"
                + (stats.resyncsReceived > 0 ? ", \(stats.resyncsReceived) resync(s)" : "")
                + (stats.commandsReceived > 0 ? ", \(stats.commandsReceived) command(s)" : "")
            switch result.outcome {
            case .completed:
                print(summary)
            case .rejected(let reason, let message):
                Self.printError("\(result.account): rejected by the agent: \(reason.rawValue): \(message)")
                exitCode = max(exitCode, 1)
            case .timedOut, .failed:
                Self.printError(summary)
                exitCode = max(exitCode, 3)
            }
        }
        let frames = results.reduce(0) { $0 + $1.statistics.framesSent }
        let seconds = elapsed / .seconds(1)
        print("\(results.count) terminal(s), \(frames) frames in \(String(format: "%.3f", seconds)) s")
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    static func readScripts(path: String) throws -> [TerminalScript] {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ValidationError("cannot read \(path): \((error as NSError).localizedDescription)")
        }
        var messages: [(account: AccountID, message: TerminalMessage)] = []
        var badLines: [String] = []
        for entry in RecordingReader(bytes: bytes) {
            switch entry.result {
            case .success(.message(let account, _, _, let message)): messages.append((account, message))
            case .success(.directive): break  // declarations for the risk core; nothing to send
            case .failure(let error): badLines.append("line \(entry.lineNumber): \(error)")
            }
        }
        guard badLines.isEmpty else {
            throw ValidationError("\(path): \(badLines.count) bad line(s); first: \(badLines[0])")
        }
        return try TerminalScript.scripts(from: messages)
    }

    static func sequences(_ text: String?, option: String) throws -> Set<UInt64> {
        guard let text, !text.isEmpty else { return [] }
        var result: Set<UInt64> = []
        for part in text.split(separator: ",") {
            guard let value = UInt64(part.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw ValidationError("\(option): '\(part)' is not a sequence number")
            }
            result.insert(value)
        }
        return result
    }

    static func serverKey(_ text: String) throws -> CurveKey {
        if let key = try? CurveKey(z85: text) { return key }
        return try CurveKeyPair.publicKey(certificateFile: text)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
