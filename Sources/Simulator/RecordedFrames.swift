import TidemarkProtocol

/// A script's recorded messages encoded once, as wire frames without their session id and
/// sequence number, so that sending one costs two copies and a number instead of a full encode.
///
/// Every frame is `TM1<TAB>TYPE<TAB>session<TAB>sequence<LF>records…` (protocol/SPEC.md §3): only
/// the session id and the sequence differ between sessions and connections. The parts around them
/// are cut from ``WireEncoder``'s own output (encoded with an empty session id and sequence 0), so
/// the frames stay exactly what the encoder writes.
///
/// Immutable after init, so one instance serves every simulator thread whose scripts share a stream.
final class RecordedFrames: Sendable {
    /// All parts, back to back.
    private let bytes: [UInt8]
    /// Per message, in `bytes`: its frame's prefix (`TM1<TAB>TYPE<TAB>`) is `start..<split`, its
    /// suffix (`<LF>records…`) `split..<end`.
    private let bounds: [(start: Int, split: Int, end: Int)]

    /// Encodes every message of `stream`.
    init(_ stream: [TerminalMessage]) {
        var bytes: [UInt8] = []
        var bounds: [(start: Int, split: Int, end: Int)] = []
        bounds.reserveCapacity(stream.count)
        var frame: [UInt8] = []
        for message in stream {
            frame.removeAll(keepingCapacity: true)
            WireEncoder.encode(Envelope(sessionID: "", sequence: 0, message: message), into: &frame)
            // The header line ends with `<TAB><TAB>0` (empty session id, sequence 0).
            let lineEnd = frame.firstIndex(of: UInt8(ascii: "\n")) ?? frame.count
            precondition(
                lineEnd >= 3 && frame[lineEnd - 3] == UInt8(ascii: "\t") && frame[lineEnd - 2] == UInt8(ascii: "\t")
                    && frame[lineEnd - 1] == UInt8(ascii: "0"), "unexpected frame header")
            let start = bytes.count
            bytes.append(contentsOf: frame[..<(lineEnd - 2)])
            let split = bytes.count
            bytes.append(contentsOf: frame[lineEnd...])
            bounds.append((start, split, bytes.count))
        }
        self.bytes = bytes
        self.bounds = bounds
    }

    /// The number of messages.
    var count: Int { bounds.count }

    /// Appends the frame of message `index` for a session to `frame`.
    /// - Parameter session: the session id as a field (``sessionField(_:)``).
    func appendFrame(_ index: Int, session: [UInt8], sequence: UInt64, to frame: inout [UInt8]) {
        let (start, split, end) = bounds[index]
        bytes.withUnsafeBufferPointer { all in
            frame.append(contentsOf: UnsafeBufferPointer(rebasing: all[start..<split]))
            frame.append(contentsOf: session)
            frame.append(UInt8(ascii: "\t"))
            Self.appendDigits(sequence, to: &frame)
            frame.append(contentsOf: UnsafeBufferPointer(rebasing: all[split..<end]))
        }
    }

    /// A session id as the encoder writes it in a field: TAB, LF and NUL replaced by spaces.
    static func sessionField(_ sessionID: String) -> [UInt8] {
        sessionID.utf8.map { $0 == 0x09 || $0 == 0x0A || $0 == 0x00 ? UInt8(ascii: " ") : $0 }
    }

    private static func appendDigits(_ value: UInt64, to frame: inout [UInt8]) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes ≥ the 20 digits of UInt64.max
        withUnsafeMutableBytes(of: &scratch) { buffer in
            var index = buffer.count
            var rest = value
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            frame.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }
}
