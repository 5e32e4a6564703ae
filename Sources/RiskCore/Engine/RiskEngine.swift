import EquityEngine
import TidemarkProtocol

/// The whole risk core: a pure, deterministic state machine.
///
/// Declarations (``RiskCommand``) and inputs (``RiskInput``) go in — in one sequence, see
/// ``RiskStep`` — and ``RiskOutput``s come out: tracker, challenge and competition events (numbered
/// by one global, gap-free sequence), closed period statistics and closed equity-chart hours. It reads no clock: time comes
/// only with the inputs. Same sequence in, same outputs out, byte for byte.
///
/// The whole state is `Codable`: encode it (a checkpoint), decode it later, and applying the rest
/// of the sequence gives exactly the outputs an uninterrupted run would have. Amounts in the
/// checkpoint are exact decimal strings, so the round trip is lossless at any magnitude.
///
/// Feed each deal *before* the observation that reflects it (the equity engine emits that
/// observation when it folds the deal), so a deposit never shows as profit, even for one tick.
/// Every input belongs to one account and moves only that account's clock: ``RiskInput/time(_:_:)``
/// (a heartbeat, or the agent's wall clock on a quiet account) closes that account's periods and
/// chart hours and nobody else's, since terminals' clocks differ (time zones, drift, lies).
///
/// Composition: each input goes, in this order, to the account's trackers and equity chart, to the
/// account's challenges (``Challenge``, in declaration order) and to the competitions the account
/// is in (``Competition``, in declaration order). Each component is a `Codable`
/// state machine with `mutating func apply(_ input: RiskInput) -> [Event]`; the engine numbers
/// their events from the one sequence.
public struct RiskEngine: Hashable, Sendable, Codable {
    /// The sequence number the next event will carry (the first is 1).
    public private(set) var nextSequenceNumber: UInt64 = 1
    /// Every account's state, in the order the core first saw them: a slot never moves, so a new
    /// account costs an append, not a shift of every later account and a rebuilt index.
    private var accounts: [AccountRiskState] = []
    /// Slot of each account in `accounts` (derived; rebuilt on decode).
    private var accountIndex: [AccountID: Int] = [:]
    /// The slots in account-id order: the order of everything done to or read from every account
    /// (heartbeats, lookups by id, the checkpoint), so no output depends on when an account was
    /// first seen.
    private var slotsInIdOrder: [Int] = []
    /// In declaration order.
    private var competitions: [Competition] = []
    /// Positions in `competitions` of the competitions each account is in (derived).
    private var competitionSlots: [AccountID: [Int]] = [:]
    /// Counts every change to the state (derived: not part of the state, 0 after decoding). A
    /// checkpoint writer remembers it and later asks for the accounts changed after it
    /// (``accountsChanged(after:)``), so it writes only the accounts that did.
    public private(set) var revision: UInt64 = 0
    /// The ``revision`` of each slot's latest change (derived, parallel to `accounts`).
    private var accountRevisions: [UInt64] = []
    /// The ``revision`` of the latest change to any competition or to the event sequence (derived).
    private var sharedRevision: UInt64 = 0

    /// An empty core: no trackers, no accounts.
    public init() {}

    // MARK: Applying

    /// Applies one element of the input sequence.
    public mutating func apply(_ step: RiskStep) throws(RiskCoreError) -> [RiskOutput] {
        switch step {
        case .command(let command): try apply(command)
        case .input(let input): apply(input)
        }
    }

    /// Applies a declaration. On error the state is unchanged.
    @discardableResult
    public mutating func apply(_ command: RiskCommand) throws(RiskCoreError) -> [RiskOutput] {
        try applyDeclaration(command)
        return []
    }

    private mutating func applyDeclaration(_ command: RiskCommand) throws(RiskCoreError) {
        switch command {
        case .createTracker(let definition):
            try definition.validate()
            if let existing = tracker(id: definition.id) {
                throw RiskCoreError.duplicateTrackerID.with(detail: "\(existing.id) on \(existing.accountId)")
            }
            let slot = accountSlot(definition.accountId)
            if accounts[slot].trackers.contains(where: { $0.definition.name == definition.name }) {
                throw RiskCoreError.duplicateTrackerName.with(detail: "\(definition.name) on \(definition.accountId)")
            }
            accounts[slot].trackers.append(TrackerState(definition: definition))
            markChanged(slot)
        case .renameTracker(let accountId, let trackerId, let name):
            guard !name.isEmpty else { throw RiskCoreError.invalidName.with(detail: "tracker \(trackerId)") }
            guard let slot = accountIndex[accountId],
                let position = accounts[slot].trackers.firstIndex(where: { $0.definition.id == trackerId })
            else { throw RiskCoreError.trackerNotFound.with(detail: "\(trackerId) on \(accountId)") }
            if accounts[slot].trackers.contains(where: { $0.definition.name == name && $0.definition.id != trackerId })
            {
                throw RiskCoreError.duplicateTrackerName.with(detail: "\(name) on \(accountId)")
            }
            accounts[slot].trackers[position].definition.name = name
            markChanged(slot)
        case .deleteTracker(let accountId, let trackerId):
            guard let slot = accountIndex[accountId],
                let position = accounts[slot].trackers.firstIndex(where: { $0.definition.id == trackerId })
            else { throw RiskCoreError.trackerNotFound.with(detail: "\(trackerId) on \(accountId)") }
            accounts[slot].trackers.remove(at: position)
            markChanged(slot)
        case .createChallenge(let definition):
            if challenge(id: definition.id) != nil {
                throw RiskCoreError.duplicateChallengeID.with(detail: definition.id)
            }
            let challenge: Challenge
            do { challenge = try Challenge(definition: definition) } catch { throw RiskCoreError.refused(error) }
            let slot = accountSlot(definition.account)
            accounts[slot].challenges.append(challenge)
            markChanged(slot)
        case .deleteChallenge(let challengeId):
            guard
                let slot = slotsInIdOrder.first(where: {
                    accounts[$0].challenges.contains { $0.definition.id == challengeId }
                })
            else { throw RiskCoreError.challengeNotFound.with(detail: challengeId) }
            accounts[slot].challenges.removeAll { $0.definition.id == challengeId }
            markChanged(slot)
        case .createCompetition(let definition):
            if competition(id: definition.id) != nil {
                throw RiskCoreError.duplicateCompetitionID.with(detail: definition.id)
            }
            let competition: Competition
            do { competition = try Competition(definition: definition) } catch { throw RiskCoreError.refused(error) }
            competitions.append(competition)
            rebuildCompetitionSlots()
            markSharedChanged()
        case .deleteCompetition(let competitionId):
            guard let position = competitions.firstIndex(where: { $0.definition.id == competitionId })
            else { throw RiskCoreError.competitionNotFound.with(detail: competitionId) }
            competitions.remove(at: position)
            rebuildCompetitionSlots()
            markSharedChanged()
        }
    }

    /// Folds one input and returns what it caused, in order.
    ///
    /// Never traps on an input: one whose time is outside `BrokerTime/calendarRange` changes
    /// nothing and comes back as ``RiskOutput/inputRefused(_:)`` (`time_out_of_range`); a
    /// tracker, challenge or competition entrant whose figures would leave the decimal range skips
    /// the input (the others fold it) and says so the same way.
    public mutating func apply(_ input: RiskInput) -> [RiskOutput] {
        // The hot path first: binding one case copies only that payload, not the whole enum.
        if case .observation(let observation) = input { return apply(observation: observation) }
        let time = RuleBook.time(of: input)
        guard time.isInCalendarRange else { return [Self.timeRefusal(of: input, at: time)] }
        var sink = OutputSink(nextSequenceNumber: nextSequenceNumber)
        let slot = accountSlot(RuleBook.account(of: input))
        markChanged(slot)
        switch input {
        case .observation:
            break  // handled above
        case .deal(let accountId, let deal):
            accounts[slot].apply(deal: deal, sink: &sink)
            accounts[slot].applyChallenges(input, sink: &sink)
            applyCompetitions(input, accountId: accountId, sink: &sink)
        case .position(let accountId, let update):
            _ = accounts[slot].advance(toOwnInputAt: update.time, carrying: true, sink: &sink)
            accounts[slot].applyChallenges(input, sink: &sink)
            applyCompetitions(input, accountId: accountId, sink: &sink)
        case .openPositions(let accountId, _, let time):
            _ = accounts[slot].advance(toOwnInputAt: time, carrying: true, sink: &sink)
            accounts[slot].applyChallenges(input, sink: &sink)
            applyCompetitions(input, accountId: accountId, sink: &sink)
        case .time(let accountId, let time):
            _ = accounts[slot].advance(to: time, carrying: true, sink: &sink)
            accounts[slot].applyChallenges(input, sink: &sink)
            applyCompetitions(input, accountId: accountId, sink: &sink)
        }
        finish(sink)
        return sink.outputs
    }

    /// Folds one observation: the same as `apply(.observation(observation))`, the per-tick path.
    public mutating func apply(observation: EquityObservation) -> [RiskOutput] {
        guard observation.time.isInCalendarRange else {
            return [Self.timeRefusal(of: .observation(observation), at: observation.time)]
        }
        var sink = OutputSink(nextSequenceNumber: nextSequenceNumber)
        let slot = accountSlot(observation.account)
        markChanged(slot)
        accounts[slot].observe(observation, sink: &sink)
        if !accounts[slot].challenges.isEmpty || !competitions.isEmpty {
            let input = RiskInput.observation(observation)
            accounts[slot].applyChallenges(input, sink: &sink)
            applyCompetitions(input, accountId: observation.account, sink: &sink)
        }
        finish(sink)
        return sink.outputs
    }

    /// Takes the sequence numbers `sink` used.
    private mutating func finish(_ sink: OutputSink) {
        if sink.nextSequenceNumber != nextSequenceNumber {
            nextSequenceNumber = sink.nextSequenceNumber
            markSharedChanged()
        }
    }

    private mutating func markChanged(_ slot: Int) {
        revision &+= 1
        accountRevisions[slot] = revision
    }

    private mutating func markSharedChanged() {
        revision &+= 1
        sharedRevision = revision
    }

    private static func timeRefusal(of input: RiskInput, at time: BrokerTime) -> RiskOutput {
        .inputRefused(
            RiskInputRefusal(
                accountId: RuleBook.account(of: input), brokerTime: time,
                reason: .timeOutOfRange, component: "input"))
    }

    /// Hands an input to the competitions `accountId` is in.
    private mutating func applyCompetitions(_ input: RiskInput, accountId: AccountID, sink: inout OutputSink) {
        guard !competitions.isEmpty, let positions = competitionSlots[accountId] else { return }
        // A competition's standings move with every input of an entrant.
        markSharedChanged()
        for position in positions {
            var refusals: [(AccountID, ArithmeticOverflow)] = []
            for event in competitions[position].apply(input, refusals: &refusals) {
                sink.outputs.append(.competitionEvent(sequenceNumber: sink.takeSequenceNumber(), event: event))
            }
            for (account, overflow) in refusals {
                sink.refuse(
                    account, at: RuleBook.time(of: input), overflow,
                    component: "competition \(competitions[position].definition.id)")
            }
        }
    }

    private mutating func rebuildCompetitionSlots() {
        var slots: [AccountID: [Int]] = [:]
        for (position, competition) in competitions.enumerated() {
            for accountId in competition.definition.accounts { slots[accountId, default: []].append(position) }
        }
        competitionSlots = slots
    }

    /// The account's slot in `accounts`, appending it when new (its place in id order found by
    /// binary search).
    private mutating func accountSlot(_ accountId: AccountID) -> Int {
        if let slot = accountIndex[accountId] { return slot }
        let slot = accounts.count
        accounts.append(AccountRiskState(accountId: accountId))
        revision &+= 1
        accountRevisions.append(revision)
        accountIndex[accountId] = slot
        var low = 0
        var high = slotsInIdOrder.count
        while low < high {
            let middle = (low + high) / 2
            if accounts[slotsInIdOrder[middle]].accountId < accountId { low = middle + 1 } else { high = middle }
        }
        slotsInIdOrder.insert(slot, at: low)
        return slot
    }

    /// After decoding (accounts in id order).
    private mutating func rebuildIndex() {
        accountIndex = Dictionary(uniqueKeysWithValues: accounts.enumerated().map { ($0.element.accountId, $0.offset) })
        slotsInIdOrder = Array(accounts.indices)
        accountRevisions = Array(repeating: revision, count: accounts.count)
    }

    // MARK: Queries

    /// Every account the core has seen or has trackers for, in id order.
    public var accountIds: [AccountID] { slotsInIdOrder.map { accounts[$0].accountId } }

    /// The account's trackers, in declaration order.
    public func trackers(accountId: AccountID) -> [TrackerDefinition] {
        guard let slot = accountIndex[accountId] else { return [] }
        return accounts[slot].trackers.map(\.definition)
    }

    /// The tracker with this id, on any account.
    public func tracker(id: String) -> TrackerDefinition? {
        for slot in slotsInIdOrder {
            if let state = accounts[slot].trackers.first(where: { $0.definition.id == id }) { return state.definition }
        }
        return nil
    }

    /// The open period's statistics of a tracker ("realTime"), or nil when no period is open
    /// (not started yet, no input since the declaration, or ended).
    public func currentPeriodStatistics(accountId: AccountID, trackerId: String) -> PeriodStatistics? {
        guard let slot = accountIndex[accountId] else { return nil }
        return accounts[slot].trackers.first(where: { $0.definition.id == trackerId })?.currentStatistics
    }

    /// Whether a tracker's end has passed (it then has no open period and ignores inputs).
    public func isFinished(accountId: AccountID, trackerId: String) -> Bool {
        guard let slot = accountIndex[accountId] else { return false }
        return accounts[slot].trackers.first(where: { $0.definition.id == trackerId })?.finished ?? false
    }

    /// The account's open equity-chart hour, averaged up to the latest input time seen for it.
    public func currentEquityChartRecord(accountId: AccountID) -> EquityChartRecord? {
        guard let slot = accountIndex[accountId], let hour = accounts[slot].chartHour else { return nil }
        return hour.record(until: accounts[slot].clock ?? hour.lastTime)
    }

    /// The account's open equity-chart hour with the running sums behind its averages
    /// (MetaApi's `realTime` chart record).
    public func currentEquityChartHour(accountId: AccountID) -> OpenEquityChartHour? {
        guard let slot = accountIndex[accountId], let hour = accounts[slot].chartHour else { return nil }
        return hour.open(until: accounts[slot].clock ?? hour.lastTime)
    }

    /// The account's challenges, in declaration order.
    public func challenges(accountId: AccountID) -> [Challenge] {
        guard let slot = accountIndex[accountId] else { return [] }
        return accounts[slot].challenges
    }

    /// The challenge with this id (its status, phase and ``Challenge/progress``).
    public func challenge(id: String) -> Challenge? {
        for slot in slotsInIdOrder {
            if let challenge = accounts[slot].challenges.first(where: { $0.definition.id == id }) { return challenge }
        }
        return nil
    }

    /// Every competition, in declaration order.
    public var allCompetitions: [Competition] { competitions }

    /// The competition with this id (its status and ``Competition/leaderboard``).
    public func competition(id: String) -> Competition? {
        competitions.first { $0.definition.id == id }
    }

    /// The latest input time seen for the account, time inputs (``RiskInput/time(_:_:)``) included:
    /// the account's broker "now".
    public func clock(accountId: AccountID) -> BrokerTime? {
        guard let slot = accountIndex[accountId] else { return nil }
        return accounts[slot].clock
    }

    /// The latest time carried by one of the account's own inputs (observation, deal, position
    /// change, open positions) folded so far, or nil before the first. Unlike
    /// ``clock(accountId:)`` a heartbeat never moves it, so it bounds what the account's terminal
    /// has had folded: of what a terminal resends after a reconnect, nothing newer than this time
    /// is in the core yet. (In a core decoded from a checkpoint written before this mark existed,
    /// an account's mark starts at its clock then, the closest bound that checkpoint knows.)
    public func lastOwnInputTime(accountId: AccountID) -> BrokerTime? {
        guard let slot = accountIndex[accountId] else { return nil }
        return accounts[slot].lastOwnInputTime
    }

    // MARK: Checkpoint

    /// The accounts changed after `revision` (an earlier ``revision``), in id order: a new account,
    /// a declaration on it, or any input of it.
    public func accountsChanged(after revision: UInt64) -> [AccountID] {
        slotsInIdOrder.compactMap { accountRevisions[$0] > revision ? accounts[$0].accountId : nil }
    }

    /// Whether the part of the state that belongs to no account (the event sequence and the
    /// competitions) changed after `revision`.
    public func sharedStateChanged(after revision: UInt64) -> Bool { sharedRevision > revision }

    /// One account's whole state (to checkpoint it on its own), nil for an account the core has
    /// not seen.
    public func accountState(of accountId: AccountID) -> AccountRiskState? {
        accountIndex[accountId].map { accounts[$0] }
    }

    /// A core put back together from the parts of a checkpoint: the event sequence, every
    /// account's state (``accountState(of:)``, any order) and the competitions in declaration
    /// order. Equal to the core they came from.
    /// - Throws: `DecodingError.dataCorrupted` when two states name the same account.
    public init(
        nextSequenceNumber: UInt64, accounts: [AccountRiskState], competitions: [Competition]
    ) throws(DecodingError) {
        self.nextSequenceNumber = nextSequenceNumber
        self.accounts = accounts.sorted { $0.accountId < $1.accountId }
        guard zip(self.accounts, self.accounts.dropFirst()).allSatisfy({ $0.accountId < $1.accountId }) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "an account's state appears twice"))
        }
        rebuildIndex()
        self.competitions = competitions
        rebuildCompetitionSlots()
    }

    /// The competitions with their standings, in declaration order (a checkpoint's shared part).
    public var competitionStates: [Competition] { competitions }

    private enum CodingKeys: String, CodingKey { case nextSequenceNumber, accounts, competitions, formatVersion }

    /// The checkpoint's shape: 3 since time inputs move one account only; 2 since accounts keep
    /// `lastOwnInputTime`; absent (1) before.
    private static let formatVersion = 3

    /// Equal when they hold the same state, whatever order the accounts were first seen in.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.nextSequenceNumber == rhs.nextSequenceNumber && lhs.competitions == rhs.competitions
            && lhs.slotsInIdOrder.count == rhs.slotsInIdOrder.count
            && zip(lhs.slotsInIdOrder, rhs.slotsInIdOrder).allSatisfy { lhs.accounts[$0] == rhs.accounts[$1] }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(nextSequenceNumber)
        hasher.combine(competitions)
        for slot in slotsInIdOrder { hasher.combine(accounts[slot]) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nextSequenceNumber = try c.decode(UInt64.self, forKey: .nextSequenceNumber)
        accounts = try c.decode([AccountRiskState].self, forKey: .accounts)
        guard zip(accounts, accounts.dropFirst()).allSatisfy({ $0.accountId < $1.accountId }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .accounts, in: c,
                debugDescription: "accounts must be sorted and unique")
        }
        let version = try c.decodeIfPresent(Int.self, forKey: .formatVersion) ?? 1
        if version == 1 {
            // Written before the own-input mark existed: the clock (heartbeats included) is the only
            // bound known of what each account's terminal had delivered, and the agent relied on it
            // then. A nil mark in a newer checkpoint means "no own input yet", so it stays nil there.
            for slot in accounts.indices { accounts[slot].lastOwnInputTime = accounts[slot].clock }
        } else if version == 2 {
            // Written when any terminal's heartbeat moved every account's clock: an account's clock
            // may hold another terminal's time, so it falls back to its own latest input's time.
            // (Periods and chart hours already opened stay open until their own end passes.)
            for slot in accounts.indices where accounts[slot].lastOwnInputTime != nil {
                accounts[slot].clock = accounts[slot].lastOwnInputTime
            }
        }
        rebuildIndex()
        competitions = try c.decode([Competition].self, forKey: .competitions)
        rebuildCompetitionSlots()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(nextSequenceNumber, forKey: .nextSequenceNumber)
        try c.encode(slotsInIdOrder.map { accounts[$0] }, forKey: .accounts)
        try c.encode(competitions, forKey: .competitions)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
    }
}
