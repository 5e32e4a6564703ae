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
        /// Sets the checkpoint file aside (renamed `….replaced-<time>`) and starts a new one: the
        /// risk core resumes from the store's own committed checkpoint. For a checkpoint file that
        /// belongs to another store.
        public var rebuildCheckpoint: Bool
        /// Queues every commit's events, statistics, chart records and declarations for the dashboard
        /// feed (the `feed_outbox` table, same transaction). The first open with it queues what is
        /// already stored. Off: nothing is queued (no feed configured).
        public var feedOutbox: Bool

        /// Options; by default full durability, 5 readers, a 5-second busy timeout, a log
        /// checkpoint every second and no feed outbox.
        public init(
            durability: Durability = .full, maximumReaderCount: Int = 5, busyTimeout: Duration = .seconds(5),
            logCheckpointInterval: Duration = .seconds(1), rebuildCheckpoint: Bool = false, feedOutbox: Bool = false
        ) {
            self.durability = durability
            self.maximumReaderCount = maximumReaderCount
            self.busyTimeout = busyTimeout
            self.logCheckpointInterval = logCheckpointInterval
            self.rebuildCheckpoint = rebuildCheckpoint
            self.feedOutbox = feedOutbox
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
    /// The store's identity (its checkpoint file carries the same id) and token-hash key.
    let identity: StoreIdentity
    /// Whether commits queue feed rows (``Options/feedOutbox``).
    let feedsOutbox: Bool
    /// What opening found and did about the checkpoint file (nil: nothing to report).
    public let checkpointFileNotice: String?

    /// Opens (creating it when absent) the store at `path` and migrates it to the current schema.
    ///
    /// Refuses, naming the file and what to do:
    /// - ``StoreError/newerSchema`` for a file a newer Tidemark migrated;
    /// - ``StoreError/damaged`` for a store that fails `PRAGMA quick_check`, is not SQLite at all,
    ///   or is empty or missing while its checkpoint file exists (a store was there: a truncated
    ///   or deleted store must not start empty). A new data directory has neither file;
    /// - ``StoreError/checkpointMismatch`` for a checkpoint file of another store (its identity
    ///   differs), unless ``Options/rebuildCheckpoint``.
    ///
    /// A checkpoint file that is damaged is set aside (`….damaged-<time>`) and a new one started:
    /// the risk core resumes from the store's own committed checkpoint (``checkpointFileNotice``).
    public init(path: String, options: Options = Options()) throws(StoreError) {
        let checkpointPath = URL(fileURLWithPath: path).deletingPathExtension().path + ".checkpoint.sqlite"
        try Self.refuseVanishedStore(path: path, checkpointPath: checkpointPath)
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
            let pool: DatabasePool
            do {
                pool = try DatabasePool(path: path, configuration: configuration)
                try Self.quickCheck(pool, path: path)
            } catch let error as DatabaseError
                where [ResultCode.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode)
            {
                throw StoreError.damaged.with(
                    detail: "\(path) is damaged (\(error.message ?? "\(error)")). \(Self.restoreAdvice)")
            }
            let migrator = Schema.migrator
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                try? pool.close()
                throw StoreError.newerSchema.with(detail: "\(path) has migrations this version does not know")
            }
            try migrator.migrate(pool)
            if options.feedOutbox { try pool.write { db in try FeedOutbox.enable(in: db) } }
            guard let identity = try pool.read({ db in try StoreIdentity.read(db) }) else {
                throw StoreError.damaged.with(detail: "\(path) has no store identity. \(Self.restoreAdvice)")
            }
            let last = try pool.read { db in try StoreBatch.lastSequenceNumber(in: db) }
            var checkpointerConfiguration = configuration
            checkpointerConfiguration.label = "tidemark.store.log-checkpoints"
            let checkpointer = try DatabaseQueue(path: path, configuration: checkpointerConfiguration)
            var checkpointFileConfiguration = Configuration()
            checkpointFileConfiguration.label = "tidemark.store.checkpoints"
            checkpointFileConfiguration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            }
            let (checkpointFile, notice) = try Self.openCheckpointFile(
                checkpointPath, storePath: path, identity: identity,
                configuration: checkpointFileConfiguration,
                rebuild: options.rebuildCheckpoint)
            self.identity = identity
            self.feedsOutbox = options.feedOutbox
            self.checkpointFileNotice = notice
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
        for watcher in watchers { watcher.finish() }
        logCheckpoints.cancel()
        // Copy the whole log into the file and empty it, so that a stopped store is complete in
        // its one file (backups by copy, the integrity check at the next start). SQLite's own
        // checkpoint on close does not run here: the pool's last connection to close is a reader.
        _ = try? logCheckpointer.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
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
            let result = try await pool.write { db in try batch.write(in: db, feed: feedsOutbox) }
            return committed(result, of: batch, since: start)
        } catch {
            state.withLock { $0.statistics.failedCommitCount += 1 }
            throw Self.storeError(error)
        }
    }

    /// Saves a checkpoint of the risk core in ``checkpointPath`` (blocks until durable), off the
    /// store's writer: event commits go on meanwhile. Its input position must not go back, and
    /// every event it has numbered must be committed. ``checkpoint()`` returns the newer of this
    /// and a checkpoint committed with a batch. A complete checkpoint in rows (``Checkpoint/isComplete``,
    /// ``Checkpoint/Layout/perAccount``) replaces whatever the file holds, even at a later input position: the file only caches a
    /// state the store can rebuild, and a restart writes the state it resumed from there.
    @discardableResult
    public func saveCheckpoint(_ checkpoint: Checkpoint) throws(StoreError) -> CheckpointWriteSize {
        let last = lastSequenceNumber
        do {
            return try checkpointFile.write { db in
                try StoreBatch.write(checkpoint, lastSequenceNumber: last, allowingRegression: true, in: db)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// The header of the checkpoint in ``checkpointPath``, if any (account rows not read).
    func savedCheckpointHeader() throws(StoreError) -> Checkpoint? {
        do { return try checkpointFile.read { db in try Self.checkpointHeader(in: db) } } catch {
            throw Self.storeError(error)
        }
    }

    /// The account rows of the checkpoint in ``checkpointPath``.
    func savedCheckpointAccounts() throws(StoreError) -> [AccountID: Data] {
        do { return try checkpointFile.read { db in try Self.checkpointAccounts(in: db) } } catch {
            throw Self.storeError(error)
        }
    }

    /// ``commit(_:)`` for a caller on its own thread (blocks until durable).
    @discardableResult
    public func commitBlocking(_ batch: StoreBatch) throws(StoreError) -> CommitReceipt {
        let start = ContinuousClock.now
        do {
            let result = try pool.write { db in try batch.write(in: db, feed: feedsOutbox) }
            return committed(result, of: batch, since: start)
        } catch {
            state.withLock { $0.statistics.failedCommitCount += 1 }
            throw Self.storeError(error)
        }
    }

    private func committed(
        _ result: BatchResult, of batch: StoreBatch, since start: ContinuousClock.Instant
    ) -> CommitReceipt {
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
        return CommitReceipt(
            duration: duration, newEvents: result.newEvents, replayedEventCount: result.replayedEventCount,
            lastSequenceNumber: result.lastSequenceNumber, newDealCount: result.newDealCount,
            queuedDeliveryCount: result.queuedDeliveryCount, newCommands: result.newCommands,
            unmatchedAcknowledgements: result.unmatchedAcknowledgements,
            checkpointWritten: result.checkpointWritten)
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

    // MARK: Integrity

    /// What an operator does about a damaged store.
    static let restoreAdvice =
        "Restore it from a backup (deploy/README.md, \"Restore\"), or move it aside to start an empty store."

    /// A store file that is missing or empty while its checkpoint file exists was there before
    /// (truncated or deleted): refused rather than started empty. A new data directory has neither.
    static func refuseVanishedStore(path: String, checkpointPath: String) throws(StoreError) {
        let manager = FileManager.default
        guard manager.fileExists(atPath: checkpointPath) else { return }
        let size = (try? manager.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        switch size {
        case nil:
            throw StoreError.damaged.with(
                detail:
                    "\(path) is missing but its checkpoint file \(checkpointPath) exists: the store was deleted. \(restoreAdvice)"
            )
        case 0?:
            throw StoreError.damaged.with(
                detail:
                    "\(path) is empty (0 bytes) but its checkpoint file \(checkpointPath) exists: the store was truncated. \(restoreAdvice)"
            )
        default:
            return
        }
    }

    /// `PRAGMA quick_check` (O(size), without the index cross-checks of `integrity_check`):
    /// throws naming the file and the first problems found.
    static func quickCheck(_ reader: some DatabaseReader, path: String) throws {
        let problems = try reader.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
        guard problems == ["ok"] else {
            throw StoreError.damaged.with(
                detail: "\(path) failed its integrity check (\(problems.joined(separator: "; "))). \(restoreAdvice)")
        }
    }

    /// Opens the checkpoint file, checking it belongs to this store. A damaged one is set aside.
    private static func openCheckpointFile(
        _ checkpointPath: String, storePath: String, identity: StoreIdentity,
        configuration: Configuration, rebuild: Bool
    ) throws -> (DatabaseQueue, String?) {
        var notice: String?
        func setAside(_ suffix: String) throws {
            let stamp = Int(Date().timeIntervalSince1970)
            for extra in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: checkpointPath + extra) {
                try FileManager.default.moveItem(
                    atPath: checkpointPath + extra, toPath: "\(checkpointPath).\(suffix)-\(stamp)\(extra)")
            }
        }
        if rebuild, FileManager.default.fileExists(atPath: checkpointPath) {
            try setAside("replaced")
            notice =
                "checkpoint file \(checkpointPath) set aside (--rebuild-checkpoint); resuming from the store's own checkpoint"
        }
        func open() throws -> DatabaseQueue {
            let queue = try DatabaseQueue(path: checkpointPath, configuration: configuration)
            try quickCheck(queue, path: checkpointPath)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: Schema.checkpointTable)
                try Schema.checkpointFileUpgrade(db)
                try db.execute(sql: Schema.checkpointIdentityTable)
            }
            return queue
        }
        var queue: DatabaseQueue
        do {
            queue = try open()
        } catch let error as StoreError where error == .damaged {
            try setAside("damaged")
            notice =
                "checkpoint file \(checkpointPath) is damaged (\(error.detail)); set aside, resuming from the store's own checkpoint"
            queue = try open()
        } catch let error as DatabaseError where [ResultCode.SQLITE_NOTADB, .SQLITE_CORRUPT].contains(error.resultCode)
        {
            try setAside("damaged")
            notice =
                "checkpoint file \(checkpointPath) is damaged (\(error.message ?? "\(error)")); set aside, resuming from the store's own checkpoint"
            queue = try open()
        }
        let owner = try queue.write { db -> String? in
            if let owner = try String.fetchOne(db, sql: "SELECT store_id FROM checkpoint_identity LIMIT 1") {
                return owner
            }
            try db.execute(sql: "INSERT INTO checkpoint_identity (store_id) VALUES (?)", arguments: [identity.id])
            return nil
        }
        if let owner, owner != identity.id {
            try? queue.close()
            throw StoreError.checkpointMismatch.with(
                detail: """
                    the checkpoint file \(checkpointPath) belongs to another store (\(owner)) than \(storePath) (\(identity.id)). \
                    Restore the pair from one backup, or start with --rebuild-checkpoint to set the file aside and resume from the store's own checkpoint
                    """)
        }
        return (queue, notice)
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
            if error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
                || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            {
                return .conflict.with(detail: error.message ?? "\(error)")
            }
            return .database.with(detail: "\(error)")
        }
        return .database.with(detail: "\(error)")
    }
}
