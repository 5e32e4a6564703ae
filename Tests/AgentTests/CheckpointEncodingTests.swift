import Dispatch
import Foundation
import Testing

@testable import Agent

@Suite("Checkpoint encoding off the writer")
struct CheckpointEncodingTests {
    /// The writer looks at `result` between batches while a checkpoint is encoded; it must get nil
    /// at once, not wait for the encoding (which once ran under the lock `result` takes, so the
    /// writer stalled for the whole 10–15 ms encoding every checkpoint: the p99 of breach latency).
    @Test(.timeLimit(.minutes(1))) func resultDoesNotWaitForTheEncoding() throws {
        let inbox = Inbox(capacity: 1)
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let encoding = CheckpointEncoding(wakingWriterOf: inbox) {
            started.signal()
            release.wait()
            return SavedCheckpoint(acknowledgements: ["s": 9])
        }
        started.wait()
        #expect(encoding.result == nil)
        release.signal()
        let prepared = try encoding.wait()
        #expect(prepared.acknowledgements == ["s": 9])
        // Done: the writer was woken, so its next take returns at once.
        #expect(inbox.take(maximum: 1, until: nil)?.isEmpty == true)
    }
}
