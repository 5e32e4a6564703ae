import CZeroMQ
import TidemarkProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// libzmq's own error numbers (zmq.h defines them as ZMQ_HAUSNUMERO + n, which Swift does not import).
let zmqHausnumero: Int32 = 156_384_712
let zmqErrorFSM: Int32 = zmqHausnumero + 51
let zmqErrorNoCompatibleProtocol: Int32 = zmqHausnumero + 52
let zmqErrorTerminated: Int32 = zmqHausnumero + 53
let zmqErrorMultiThread: Int32 = zmqHausnumero + 54

/// A failed libzmq call (with its errno and `zmq_strerror` text) or a failed check in this layer.
///
/// Compare with the static members (`error == .terminated`), which match on the kind of failure
/// only, so new kinds can be added without breaking callers.
public struct ZMQError: TidemarkError {
    private enum Code: Hashable, Sendable {
        case terminated
        case wouldBlock
        case interrupted
        case hostUnreachable
        case protocolNotSupported
        case invalidArgument
        case addressInUse
        case addressNotAvailable
        case noSuchDevice
        case invalidState
        case notSupported
        case tooManyOpenFiles
        case otherErrno(Int32)
        case invalidZ85
        case invalidKey
        case invalidKeyFile
        case fileSystem(Int32)
    }

    private let kind: Code
    /// The C `errno` (libzmq's own numbers included); 0 for failures detected in Swift.
    public let errno: Int32
    /// What was being done, e.g. `zmq_connect(tcp://…)`.
    public let operation: String

    private init(kind: Code, errno: Int32, operation: String) {
        self.kind = kind
        self.errno = errno
        self.operation = operation
    }

    /// An error from an `errno` value left by a libzmq (or libc) call.
    public init(errno: Int32, operation: String) {
        let kind: Code
        switch errno {
        case zmqErrorTerminated: kind = .terminated
        case EAGAIN: kind = .wouldBlock
        case EINTR: kind = .interrupted
        case EHOSTUNREACH: kind = .hostUnreachable
        case EPROTONOSUPPORT: kind = .protocolNotSupported
        case EINVAL: kind = .invalidArgument
        case EADDRINUSE: kind = .addressInUse
        case EADDRNOTAVAIL: kind = .addressNotAvailable
        case ENODEV: kind = .noSuchDevice
        case zmqErrorFSM: kind = .invalidState
        case ENOTSUP: kind = .notSupported
        case EMFILE: kind = .tooManyOpenFiles
        default: kind = .otherErrno(errno)
        }
        self.init(kind: kind, errno: errno, operation: operation)
    }

    /// The error libzmq just reported on this thread (`zmq_errno()`).
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        ZMQError(errno: zmq_errno(), operation: operation())
    }

    /// The context was shut down or terminated (`ETERM`): the socket loop should close and exit.
    public static let terminated = ZMQError(kind: .terminated, errno: zmqErrorTerminated, operation: "")
    /// Non-blocking call found nothing to do, or a send/receive timeout expired (`EAGAIN`).
    public static let wouldBlock = ZMQError(kind: .wouldBlock, errno: EAGAIN, operation: "")
    /// A signal interrupted a blocking call (`EINTR`).
    public static let interrupted = ZMQError(kind: .interrupted, errno: EINTR, operation: "")
    /// ROUTER_MANDATORY: no peer with that routing id (`EHOSTUNREACH`).
    public static let hostUnreachable = ZMQError(kind: .hostUnreachable, errno: EHOSTUNREACH, operation: "")
    /// Unknown transport in an endpoint (`EPROTONOSUPPORT`).
    public static let protocolNotSupported = ZMQError(kind: .protocolNotSupported, errno: EPROTONOSUPPORT, operation: "")
    /// Malformed endpoint or option value (`EINVAL`).
    public static let invalidArgument = ZMQError(kind: .invalidArgument, errno: EINVAL, operation: "")
    /// The address is already bound (`EADDRINUSE`).
    public static let addressInUse = ZMQError(kind: .addressInUse, errno: EADDRINUSE, operation: "")
    /// The address is not local (`EADDRNOTAVAIL`).
    public static let addressNotAvailable = ZMQError(kind: .addressNotAvailable, errno: EADDRNOTAVAIL, operation: "")
    /// The interface named in an endpoint does not exist (`ENODEV`).
    public static let noSuchDevice = ZMQError(kind: .noSuchDevice, errno: ENODEV, operation: "")
    /// The socket is in the wrong state for the call (`EFSM`).
    public static let invalidState = ZMQError(kind: .invalidState, errno: zmqErrorFSM, operation: "")
    /// The operation is not supported by this socket type (`ENOTSUP`).
    public static let notSupported = ZMQError(kind: .notSupported, errno: ENOTSUP, operation: "")
    /// Out of file descriptors or of the context's socket limit (`EMFILE`).
    public static let tooManyOpenFiles = ZMQError(kind: .tooManyOpenFiles, errno: EMFILE, operation: "")
    /// Text that is not valid Z85 (wrong length or a character outside the alphabet).
    public static let invalidZ85 = ZMQError(kind: .invalidZ85, errno: 0, operation: "")
    /// A CURVE key that is not 32 bytes (40 Z85 characters).
    public static let invalidKey = ZMQError(kind: .invalidKey, errno: 0, operation: "")
    /// A key file that holds no usable key.
    public static let invalidKeyFile = ZMQError(kind: .invalidKeyFile, errno: 0, operation: "")

    static func invalidZ85(_ operation: String) -> ZMQError { ZMQError(kind: .invalidZ85, errno: 0, operation: operation) }
    static func invalidKey(_ operation: String) -> ZMQError { ZMQError(kind: .invalidKey, errno: 0, operation: operation) }
    static func invalidKeyFile(_ operation: String) -> ZMQError { ZMQError(kind: .invalidKeyFile, errno: 0, operation: operation) }
    static func fileSystem(errno: Int32, _ operation: String) -> ZMQError {
        ZMQError(kind: .fileSystem(errno), errno: errno, operation: operation)
    }

    /// Equal when the kind of failure is the same (operation and text are ignored).
    public static func == (lhs: ZMQError, rhs: ZMQError) -> Bool { lhs.kind == rhs.kind }
    public func hash(into hasher: inout Hasher) { hasher.combine(kind) }

    /// The human text: `zmq_strerror` for errno failures.
    public var reason: String {
        switch kind {
        case .invalidZ85: return "not valid Z85 text"
        case .invalidKey: return "a CURVE key must be 32 bytes (40 Z85 characters)"
        case .invalidKeyFile: return "no CURVE key found in the file"
        case .fileSystem(let number): return String(cString: strerror(number))
        default: return String(cString: zmq_strerror(errno))
        }
    }

    /// A short, bounded label for metrics and logs (`terminated`, `would_block`, `errno_104`, …).
    public var code: String {
        switch kind {
        case .terminated: "terminated"
        case .wouldBlock: "would_block"
        case .interrupted: "interrupted"
        case .hostUnreachable: "host_unreachable"
        case .protocolNotSupported: "protocol_not_supported"
        case .invalidArgument: "invalid_argument"
        case .addressInUse: "address_in_use"
        case .addressNotAvailable: "address_not_available"
        case .noSuchDevice: "no_such_device"
        case .invalidState: "invalid_state"
        case .notSupported: "not_supported"
        case .tooManyOpenFiles: "too_many_open_files"
        case .otherErrno(let number): "errno_\(number)"
        case .invalidZ85: "invalid_z85"
        case .invalidKey: "invalid_key"
        case .invalidKeyFile: "invalid_key_file"
        case .fileSystem: "file_system"
        }
    }

    /// What was being done and the system's words.
    public var detail: String { operation.isEmpty ? reason : "\(operation): \(reason)" }

    public var description: String {
        let prefix = operation.isEmpty ? "" : "\(operation): "
        return errno == 0 ? "\(prefix)\(reason)" : "\(prefix)\(reason) (errno \(errno))"
    }
}
