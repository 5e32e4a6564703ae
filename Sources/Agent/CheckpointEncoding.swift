import Dispatch
import Foundation
import Synchronization

/// A checkpoint saved beside the store off the writer.
struct SavedCheckpoint: Sendable {
    /// What may be acknowledged now (everything folded into it).
    var acknowledgements: [String: UInt64]
}

/// A checkpoint being encoded and saved on a thread of its own: that takes milliseconds of CPU and
/// I/O, which the writer spends folding and committing the next batches meanwhile. When done it
/// wakes the writer, which sends the ACKs it allows.
///
/// The thread runs at a lower priority (nice 10): on a busy machine the scheduler then gives the
/// bridge and the writer, the path of a breach to its subscribers, the CPU first. A checkpoint is
/// only due every few hundred milliseconds, and an EA keeps what is unacknowledged until it is.
final class CheckpointEncoding: Sendable {
    private let outcome = Mutex<Result<SavedCheckpoint, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(wakingWriterOf inbox: Inbox, _ work: @escaping @Sendable () throws -> SavedCheckpoint) {
        let thread = Thread { [self] in
            Thread.current.name = "checkpoint"
            // Linux keeps the nice value per thread; `who` 0 names the calling thread. Raising it
            // needs no privilege (failing would only leave the default priority).
            #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            #endif
            // Encoded outside the lock: the writer looks at `result` between batches meanwhile.
            let result = Result { try work() }
            outcome.withLock { $0 = result }
            done.signal()
            inbox.wakeWriter()
        }
        thread.start()
    }

    /// The outcome, or nil while encoding.
    var result: Result<SavedCheckpoint, any Error>? { outcome.withLock { $0 } }

    /// Blocks until encoded.
    func wait() throws -> SavedCheckpoint {
        if let result { return try result.get() }
        done.wait()
        return try result!.get()
    }
}
