import Foundation
@testable import Store
import Testing
import TestSupport
import TidemarkProtocol

/// Periodic checkpoints go to a file of their own beside the store, so that saving hundreds of
/// kilobytes never holds up an event commit; a declaration's checkpoint still commits with its batch.
@Suite("Checkpoints saved beside the store")
struct SavedCheckpointTests {
    private func checkpoint(position: UInt64, next: UInt64, byte: UInt8) -> Checkpoint {
        Checkpoint(inputPosition: position, nextSequenceNumber: next, state: Data(repeating: byte, count: 300_000),
                   savedAt: Date(storedMilliseconds: 1_000))
    }

    @Test("The newer of the saved and the committed checkpoint is restored, after a reopen too")
    func newerWins() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        #expect(store.checkpointPath.hasSuffix(".checkpoint.sqlite"))
        try await store.commit(StoreBatch(events: [sampleEvent(1), sampleEvent(2)], checkpoint: checkpoint(position: 10, next: 2, byte: 1)))
        try store.saveCheckpoint(checkpoint(position: 20, next: 3, byte: 2))
        #expect(try await store.checkpoint()?.inputPosition == 20)
        #expect(try await store.checkpoint()?.state.first == 2)
        // A declaration's checkpoint, committed with its batch, is newer still.
        try await store.commit(StoreBatch(events: [sampleEvent(3)], checkpoint: checkpoint(position: 30, next: 4, byte: 3)))
        #expect(try await store.checkpoint()?.inputPosition == 30)
        try store.saveCheckpoint(checkpoint(position: 40, next: 4, byte: 4))
        try store.close()

        let reopened = try Store(path: directory.storePath)
        let restored = try #require(try await reopened.checkpoint())
        #expect(restored.inputPosition == 40)
        #expect(restored.nextSequenceNumber == 4)
        #expect(restored.state == Data(repeating: 4, count: 300_000))
        try reopened.close()
    }

    @Test("A saved checkpoint may not go back in position nor run ahead of the committed events")
    func invariants() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(1)]))
        try store.saveCheckpoint(checkpoint(position: 5, next: 2, byte: 1))
        #expect(throws: StoreError.inputPositionRegressed) { try store.saveCheckpoint(checkpoint(position: 4, next: 2, byte: 1)) }
        // Event 2 is not committed: a state that has numbered it cannot be saved.
        #expect(throws: StoreError.checkpointMismatch) { try store.saveCheckpoint(checkpoint(position: 6, next: 3, byte: 1)) }
        #expect(try await store.checkpoint()?.inputPosition == 5)
        try store.close()
    }

    @Test("A store older than its checkpoint file (restored from a backup) ignores the file")
    func storeOlderThanTheFile() async throws {
        let directory = try TemporaryDirectory()
        let first = try Store(path: directory.storePath)
        try await first.commit(StoreBatch(events: [sampleEvent(1)], checkpoint: checkpoint(position: 10, next: 2, byte: 1)))
        try first.close()
        // A backup of the store as it is now (one event, checkpoint 10): the same store, so the
        // checkpoint file written later still belongs to it.
        let older = try TemporaryDirectory()
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.copyItem(atPath: directory.storePath + suffix, toPath: older.storePath + suffix)
        }
        let store = try Store(path: directory.storePath)
        try await store.commit(StoreBatch(events: [sampleEvent(2), sampleEvent(3)]))
        try store.saveCheckpoint(checkpoint(position: 30, next: 4, byte: 3))
        try store.close()
        // Put back the backup (before events 2 and 3).
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: directory.storePath + suffix)
            try? FileManager.default.copyItem(atPath: older.storePath + suffix, toPath: directory.storePath + suffix)
        }
        let restored = try Store(path: directory.storePath)
        let found = try await restored.checkpoint()
        #expect(found?.inputPosition == 10, "\(String(describing: found?.inputPosition)) last \(restored.lastSequenceNumber)")
        try restored.close()
    }
}
