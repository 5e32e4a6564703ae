#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TidemarkProtocol

/// Writes accepted messages as JSON Lines recordings (protocol/SPEC.md §8), one file per account:
/// `DIR/<account>.jsonl`, appended to, so an agent restart continues the same audit trail.
///
/// Used by the consumer of ``BridgeServer/deliveries`` (not on the socket thread: JSON encoding is
/// slow next to the wire decoder, and recording must not slow the bridge). Not Sendable: one owner.
public final class BridgeRecorder {
    /// Where the files go.
    public let directory: String
    private var files: [AccountID: UnsafeMutablePointer<FILE>] = [:]

    /// Creates `directory` if needed.
    public init(directory: String) throws(BridgeRecorderError) {
        self.directory = directory
        if mkdir(directory, 0o755) != 0, errno != EEXIST {
            throw BridgeRecorderError(path: directory, errno: errno)
        }
    }

    deinit { close() }

    /// The file an account's messages go to.
    public func path(for account: AccountID) -> String {
        // Account ids are "server:login"; a server name could hold a slash or start with a dot.
        var name = String(account.rawValue.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        if name.hasPrefix(".") { name = "_" + name.dropFirst() }
        return directory + "/" + name + ".jsonl"
    }

    /// Appends one message (buffered; see ``flush()``).
    public func record(_ delivery: BridgeDelivery) throws(BridgeRecorderError) {
        // A session's end is not a message of the terminal (its BYE, if it sent one, is recorded).
        guard delivery.sessionEnd == nil else { return }
        let file = try file(for: delivery.account)
        var line = RecordingCodec.encode(.message(account: delivery.account, sessionID: delivery.sessionID,
                                                  sequence: delivery.sequence, delivery.message))
        line.append(0x0A)
        let written = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if written != line.count { throw BridgeRecorderError(path: path(for: delivery.account), errno: errno) }
    }

    /// Appends a directive line (protocol/SPEC.md §8, e.g. a `time` line) to an account's file.
    public func recordDirective(_ json: [UInt8], of account: AccountID) throws(BridgeRecorderError) {
        let file = try file(for: account)
        var line = json
        line.append(0x0A)
        let written = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        if written != line.count { throw BridgeRecorderError(path: path(for: account), errno: errno) }
    }

    /// Pushes buffered lines to the files.
    public func flush() {
        for file in files.values { fflush(file) }
    }

    /// Flushes and closes every file.
    public func close() {
        for file in files.values { fclose(file) }
        files.removeAll()
    }

    private func file(for account: AccountID) throws(BridgeRecorderError) -> UnsafeMutablePointer<FILE> {
        if let file = files[account] { return file }
        let path = path(for: account)
        guard let file = fopen(path, "a") else { throw BridgeRecorderError(path: path, errno: errno) }
        files[account] = file
        return file
    }
}

@available(*, unavailable, message: "a recorder owns open files: keep it in one task")
extension BridgeRecorder: Sendable {}

/// A recording file could not be created or written.
public struct BridgeRecorderError: TidemarkError {
    /// The file that could not be created or written.
    public var path: String
    /// The C `errno` of the failed call.
    public var errno: Int32

    public init(path: String, errno: Int32) {
        self.path = path
        self.errno = errno
    }

    /// Always `cannot_write`.
    public var code: String { "cannot_write" }

    /// The file and the system's message.
    public var detail: String { "\(path): \(String(cString: strerror(errno)))" }

    public var description: String { "cannot write \(detail)" }
}
