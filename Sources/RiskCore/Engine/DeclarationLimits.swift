import TidemarkProtocol

/// Bounds on what one declaration may hold, so that no client (an account-scoped token
/// included) can make the risk state, and with it every checkpoint, grow without end.
///
/// Checked before a declaration is applied; a refusal is ``RiskCoreError/limitExceeded`` with a
/// detail that names the field, the limit and the value (the API answers 400 with it).
///
/// | What | Limit |
/// |---|---|
/// | tracker, challenge, competition and phase names | ``maximumNameLength`` characters (MetaApi's own limit) |
/// | tracker, challenge and competition ids | ``maximumIDLength`` characters |
/// | descriptions | ``maximumDescriptionLength`` characters |
/// | live trackers of one account | ``maximumTrackersPerAccount`` (configurable) |
/// | phases of a challenge | ``maximumPhases`` |
/// | accounts of a competition | ``maximumCompetitionAccounts`` |
public struct DeclarationLimits: Hashable, Sendable {
    /// Longest name, in characters.
    public static let maximumNameLength = 256
    /// Longest id, in characters.
    public static let maximumIDLength = 128
    /// Longest free-text description, in characters.
    public static let maximumDescriptionLength = 4_096
    /// Most phases one challenge may have.
    public static let maximumPhases = 16
    /// Most accounts one competition may rank.
    public static let maximumCompetitionAccounts = 10_000

    /// Most live trackers one account may have.
    public var maximumTrackersPerAccount: Int

    /// Limits; 100 trackers per account by default.
    public init(maximumTrackersPerAccount: Int = 100) {
        self.maximumTrackersPerAccount = maximumTrackersPerAccount
    }

    /// Refuses `command` when it would pass a limit, given the state it would apply to.
    public func check(_ command: RiskCommand, against engine: RiskEngine) throws(RiskCoreError) {
        switch command {
        case .createTracker(let definition):
            try Self.id("id", definition.id)
            try Self.name("name", definition.name)
            let live = engine.trackers(accountId: definition.accountId).count
            guard live < maximumTrackersPerAccount else {
                throw RiskCoreError.limitExceeded.with(
                    detail:
                        "trackers: account \(definition.accountId) has \(live), the most allowed per account (maximumTrackersPerAccount)"
                )
            }
        case .renameTracker(_, _, let name):
            try Self.name("name", name)
        case .createChallenge(let definition):
            try Self.id("id", definition.id)
            try Self.text("description", definition.description, at: Self.maximumDescriptionLength)
            guard definition.phases.count <= Self.maximumPhases else {
                throw RiskCoreError.limitExceeded.with(
                    detail: "phases: at most \(Self.maximumPhases), got \(definition.phases.count)")
            }
            for (index, phase) in definition.phases.enumerated() { try Self.name("phases[\(index)].name", phase.name) }
        case .createCompetition(let definition):
            try Self.id("id", definition.id)
            try Self.text("description", definition.description, at: Self.maximumDescriptionLength)
            guard definition.accounts.count <= Self.maximumCompetitionAccounts else {
                throw RiskCoreError.limitExceeded.with(
                    detail:
                        "accounts: at most \(Self.maximumCompetitionAccounts), got \(definition.accounts.count)")
            }
        case .deleteTracker, .deleteChallenge, .deleteCompetition:
            break
        }
    }

    private static func id(_ field: String, _ value: String) throws(RiskCoreError) {
        try text(field, value, at: maximumIDLength)
    }

    private static func name(_ field: String, _ value: String) throws(RiskCoreError) {
        try text(field, value, at: maximumNameLength)
    }

    /// Counted in Unicode scalars (bounded work: the count stops at the limit).
    private static func text(_ field: String, _ value: String?, at limit: Int) throws(RiskCoreError) {
        guard let value else { return }
        var count = 0
        for _ in value.unicodeScalars {
            count += 1
            if count > limit {
                throw RiskCoreError.limitExceeded.with(
                    detail: "\(field): at most \(limit) characters, got \(value.unicodeScalars.count)")
            }
        }
    }
}
