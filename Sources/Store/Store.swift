import Foundation
import GRDB
import Synchronization
import TidemarkProtocol

/// Tidemark's durable store: one SQLite file in WAL mode, written by one writer, read by a pool of
/// readers that never block it.
///
/// The agent writes through ``commit(_:)``: one transaction per ``StoreBatch`` (risk outputs, deals,
/// account changes, outbox rows, the core's checkpoint), so a crash leaves all of a batch or none,
/// and an event exists for readers only once it is durable. The REST API reads through the
/// query methods (see `Queries.swift`), which run on the pool's readers.
///
/// Guarantees kept by the schema itself as well as by the code: event sequence numbers are gap-free
/// and events are append-only; the checkpoint never runs ahead of the stored events and its input
/// position never goes back.
public final class Store: Sendable {
    /// How hard a commit works to survive a power loss.
    public enum Durability: String, Hashable, Sendable, Codable {
        /// Every commit reaches the disk before ``Store/commit(_:)`` returns (`synchronous = FULL`):
        /// survives power loss and kill -9.
        case full
        /// Commits reach the operating system before returning, the disk at WAL checkpoints
        /// (`synchronous = NORMAL`): survives kill -9 of the agent, may lose the last commits on a
        /// power loss or kernel crash. Several times faster on slow disks.
        case normal
    }

    /// Settings for opening a store.
    public struct Options: Hashable, Sendable {
        /// How hard each commit waits for the disk.
        public var durability: Durability
        /// Concurrent readers (API requests reading at once).
        public var maximumReaderCount: Int
        /// How long a write waits for a lock another *process* holds (a backup, the sqlite3 shell).
        public var busyTimeout: Duration
        /// How often committed pages are copied from the write-ahead log into the database file.
        ///
        /// SQLite's default has the committing connection do it once the log passes 1,000 pages
        /// (<https://www.sqlite.org/wal.html#automatic_checkpoint>), which stalls that commit for
        /// the copy and its fsync: tens of milliseconds, on the path of a breach event. The store
        /// turns that off and runs a `PASSIVE` checkpoint on a connection of its own at this
        /// interval instead; a passive checkpoint waits for no lock, so commits go on meanwhile.
        public var logCheckpointInterval: Duration

        /// Options; by default full durability, 5 readers, a 5-second busy timeout and a log
        /// checkpoint every second.
        public init(durability: Durability = .full, maximumReaderCount: Int = 5, busyTimeout: Duration = .seconds(5),
                    logCheckpointInterval: Duration = .seconds(1)) {
            self.durability = durability; self.maximumReaderCount = maximumReaderCount; self.busyTimeout = busyTimeout
            self.logCheckpointInterval = logCheckpointInterval
        }
    }

    /// Commit timings since the store opened, for the agent's store-latency metrics.
    public struct CommitStatistics: Hashable, Sendable {
        /// Commits that succeeded.
        public var commitCount: Int = 0
        /// Commits that failed (and rolled back).
        public var failedCommitCount: Int = 0
        /// Time spent in successful commits, in total.
        public var totalDuration: Duration = .zero
        /// Time the latest successful commit took.
        public var lastDuration: Duration = .zero
        /// Time the slowest successful commit took.
        public var maximumDuration: Duration = .zero
    }

    private struct State {
        var lastSequenceNumber: UInt64
        var recentEvents = RecentEvents(capacity: 8_192)
        var statistics = CommitStatistics()
        var nextWatcherID = 0
        var watchers: [Int: AsyncStream<UInt64>.Continuation] = [:]
    }

    /// The SQLite file.
    public let path: String
    let pool: DatabasePool
    private let state: Mutex<State>
    /// The connection that checkpoints the write-ahead log, and its periodic task.
    private let logCheckpointer: DatabaseQueue
    private let logCheckpoints: Task<Void, Never>
    /// Where ``saveCheckpoint(_:)`` writes: a file of its own beside the store (``checkpointPath``).
    /// A risk-core checkpoint is hundreds of kilobytes; committed in the store's file it held the
    /// event commits behind it for milliseconds (SQLite has one writer per file).
    private let checkpointFile: DatabaseQueue
    /// The file of the periodic risk-core checkpoints: back it up with the store.
    public let checkpointPath: String

    /// Opens (creating it when absent) the store at `path` and migrates it to the current schema.
    /// Throws ``StoreError/newerSchema`` for a file a newer Tidemark migrated.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        var configuration = Configuration()
        configuration.maximumReaderCount = options.maximumReaderCount
        let (seconds, attoseconds) = options.busyTimeout.components
        configuration.busyMode = .timeout(Double(seconds) + Double(attoseconds) / 1e18)
        let synchronous = options.durability == .full ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Commits never checkpoint the log: `logCheckpointer` does, off the writer.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        configuration.label = "tidemark.store"
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            let migrator = Schema.migrator
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                try? pool.close()
                throw StoreError.newerSchema.with(detail: "\(path) has migrations this version does not know")
            }
            try migrator.migrate(pool)
            let last = try pool.read { db in try StoreBatch.lastSequenceNumber(in: db) }
            var checkpointerConfiguration = configuration
            checkpointerConfiguration.label = "tidemark.store.log-checkpoints"
            let checkpointer = try DatabaseQueue(path: path, configuration: checkpointerConfiguration)
            let checkpointPath = URL(fileURLWithPath: path).deletingPathExtension().path + ".checkpoint.sqlite"
            var checkpointFileConfiguration = Configuration()
            checkpointFileConfiguration.label = "tidemark.store.checkpoints"
            checkpointFileConfiguration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            let checkpointFile = try DatabaseQueue(path: checkpointPath, configuration: checkpointFileConfiguration)
            try checkpointFile.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: Schema.checkpointTable)
            }
            self.checkpointFile = checkpointFile
            self.checkpointPath = checkpointPath
            self.pool = pool
            self.path = path
            self.state = Mutex(State(lastSequenceNumber: last))
            self.logCheckpointer = checkpointer
            let interval = options.logCheckpointInterval
            self.logCheckpoints = Task.detached {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    // PASSIVE: copies what no reader still needs, takes no lock a commit waits for.
                    _ = try? await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                }
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    deinit {
        // A store dropped without close() (tests, error paths) must not leave its checkpointer running.
        logCheckpoints.cancel()
    }

    /// Closes the file (finishing every sequence-number stream). Later calls fail.
    public func close() throws(StoreError) {
        let watchers = state.withLock { state in
            defer { state.watchers = [:] }
            return Array(state.watchers.values)
        }
        watchers.forEach { $0.finish() }
        logCheckpoints.cancel()
        do {
            try logCheckpointer.close()
            try checkpointFile.close()
            try pool.close()
        } catch { throw Self.storeError(error) }
    }

    /// The migrations applied to the file, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try read { db in try Schema.migrator.appliedMigrations(db) }
    }

    // MARK: Commit

    /// Writes `batch` in one transaction and returns once it is durable (see ``Durability``).
    /// On any error nothing of the batch is stored.
    @discardableResult
    public func commit(_ batch: StoreBatch) async throws(StoreError) -> CommitReceipt {
        let start = ContinuousClock.now
        do {
            let result = try await pool.write { db in try batch.write(in: db) }
            return committed(result, of: batch, since: start)
        } catch {
            state.withLock { $0.statistics.failedCommitCount += 1 }
            throw Self.storeError(error)
        }
    }

    /// Saves a checkpoint of the risk core in ``checkpointPath`` (blocks until durable), off the
    /// store's writer: event commits go on meanwhile. Its input position must not go back, and
    /// every event it has numbered must be committed. ``checkpoint()`` returns the newer of this
    /// and a checkpoint committed with a batch.
    public func saveCheckpoint(_ checkpoint: Checkpoint) throws(StoreError) {
        let last = lastSequenceNumber
        do {
            try checkpointFile.write { db in try StoreBatch.write(checkpoint, lastSequenceNumber: last, in: db) }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// The checkpoint in ``checkpointPath``, if any.
    func savedCheckpoint() throws(StoreError) -> Checkpoint? {
        do { return try checkpointFile.read { db in try Self.checkpoint(in: db) } } catch { throw Self.storeError(error) }
    }

    /// ``commit(_:)`` for a caller on its own thread (blocks until durable).
    @discardableResult
    public func commitBlocking(_ batch: StoreBatch) throws(StoreError) -> CommitReceipt {
        let start = ContinuousClock.now
        do {
            let result = try pool.write { db in try batch.write(in: db) }
            return committed(result, of: batch, since: start)
        } catch {
            state.withLock { $0.statistics.failedCommitCount += 1 }
            throw Self.storeError(error)
        }
    }

    private func committed(_ result: BatchResult, of batch: StoreBatch, since start: ContinuousClock.Instant) -> CommitReceipt {
        let duration = ContinuousClock.now - start
        state.withLock { state in
            state.statistics.commitCount += 1
            state.statistics.totalDuration += duration
            state.statistics.lastDuration = duration
            state.statistics.maximumDuration = max(state.statistics.maximumDuration, duration)
            if let new = result.newEvents {
                state.recentEvents.append(contentsOf: batch.events.lazy.filter { new.contains($0.sequenceNumber) })
            }
            guard result.lastSequenceNumber > state.lastSequenceNumber else { return }
            state.lastSequenceNumber = result.lastSequenceNumber
            // Yielded under the lock (yield never blocks) so watchers never see the number go back.
            for watcher in state.watchers.values { watcher.yield(result.lastSequenceNumber) }
        }
        return CommitReceipt(duration: duration, newEvents: result.newEvents, replayedEventCount: result.replayedEventCount,
                             lastSequenceNumber: result.lastSequenceNumber, newDealCount: result.newDealCount,
                             queuedDeliveryCount: result.queuedDeliveryCount, newCommands: result.newCommands,
                             unmatchedAcknowledgements: result.unmatchedAcknowledgements)
    }

    /// Commit timings so far.
    public var commitStatistics: CommitStatistics { state.withLock { $0.statistics } }

    /// The highest committed event sequence number (0 before the first event).
    public var lastSequenceNumber: UInt64 { state.withLock { $0.lastSequenceNumber } }

    /// The events after `query`'s sequence number, from the events this process committed last,
    /// when they are all there (nil: ask the database). A long poll or an event stream waiting for
    /// the next event is answered this way, without a read on the database's queue.
    func recentEvents(matching query: EventQuery) -> [StoredEvent]? {
        guard let after = query.afterSequenceNumber else { return nil }
        return state.withLock { state in
            if after >= state.lastSequenceNumber { return [] }
            return state.recentEvents.events(after: after, matching: query)
        }
    }

    /// The highest committed sequence number now and after every commit that stores events: what a
    /// long poll or an event stream waits on. Only the newest value is buffered (a slow consumer
    /// skips intermediate values, which is harmless: it then queries everything after its last one).
    public func sequenceNumberUpdates() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream.makeStream(of: UInt64.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            defer { state.nextWatcherID += 1 }
            state.watchers[state.nextWatcherID] = continuation
            continuation.yield(state.lastSequenceNumber)
            return state.nextWatcherID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }

    // MARK: Plumbing

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch { throw Self.storeError(error) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.read(body) } catch { throw Self.storeError(error) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.write(body) } catch { throw Self.storeError(error) }
    }

    func writeBlocking<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch { throw Self.storeError(error) }
    }

    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            if error.extendedResultCode == .SQLITE_CONSTRAINT_TRIGGER, error.message?.contains("gap-free") == true {
                return .sequenceGap.with(detail: error.message ?? "")
            }
            if error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                return .conflict.with(detail: error.message ?? "\(error)")
            }
            return .database.with(detail: "\(error)")
        }
        return .database.with(detail: "\(error)")
    }
}
