import Foundation
import TestSupport
import Testing
import TidemarkProtocol

@testable import Store

/// Commits must not stall on copying the write-ahead log into the database file (SQLite's
/// automatic checkpoint does that inside the commit once the log passes 1,000 pages); the store's
/// own connection does it, off the writer.
@Suite("Write-ahead log checkpoints")
struct LogCheckpointTests {
    /// 6 MB: ~1,500 pages of 4 KiB, past SQLite's automatic-checkpoint threshold of 1,000 pages.
    static let bigState = String(repeating: "x", count: 6_000_000)

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test func aCommitLeavesItsPagesInTheLog() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: Store.Options(logCheckpointInterval: .seconds(3_600)))
        try await store.commit(StoreBatch(checkpoint: checkpoint(position: 1, next: 1, state: Self.bigState)))
        // Under SQLite's default the commit itself would have copied the 6 MB into the file.
        #expect(Self.fileSize(directory.storePath) < 1_000_000)
        #expect(Self.fileSize(directory.storePath + "-wal") > 6_000_000)
        try store.close()
    }

    @Test func theStoresCheckpointerCopiesThemIntoTheFile() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(
            path: directory.storePath, options: Store.Options(logCheckpointInterval: .milliseconds(50)))
        try await store.commit(StoreBatch(checkpoint: checkpoint(position: 1, next: 1, state: Self.bigState)))
        try await eventually("the checkpointer copies the log into the file", deadline: .seconds(10)) {
            Self.fileSize(directory.storePath) > 6_000_000
        }
        #expect(try await store.checkpoint()?.state.count == 6_000_000)
        try store.close()
    }

    /// A stopped store is whole in its one file: `close()` copies the log in and empties it, so a
    /// copy of `tidemark.sqlite` alone (or the check at the next start) sees every commit.
    @Test func closingFoldsTheLogIntoTheFile() async throws {
        let directory = try TemporaryDirectory()
        let store = try Store(path: directory.storePath, options: Store.Options(logCheckpointInterval: .seconds(3_600)))
        try await store.commit(StoreBatch(checkpoint: checkpoint(position: 1, next: 1, state: "folded")))
        try store.close()
        #expect(Self.fileSize(directory.storePath + "-wal") == 0)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: directory.storePath + suffix) }
        let reopened = try Store(path: directory.storePath)
        #expect(try await reopened.checkpoint()?.state == Data("folded".utf8))
        try reopened.close()
    }
}
