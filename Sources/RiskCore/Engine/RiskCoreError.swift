import TidemarkProtocol

/// Why the risk core refused a declaration. The state is unchanged when one is thrown.
///
/// Cases are static members over a private code, so new ones can be added without breaking
/// callers; ``description`` is short and stable, fit for a metric label. ``detail`` says which
/// tracker or value was at fault (not part of equality).
public struct RiskCoreError: CodeComparedError {
    private enum Code: String, Hashable, Sendable {
        case duplicateTrackerID = "duplicate_tracker_id"
        case duplicateTrackerName = "duplicate_tracker_name"
        case trackerNotFound = "tracker_not_found"
        case missingThreshold = "missing_threshold"
        case invalidThreshold = "invalid_threshold"
        case invalidTimeRange = "invalid_time_range"
        case invalidName = "invalid_name"
        case invalidDeclaration = "invalid_declaration"
        case duplicateChallengeID = "duplicate_challenge_id"
        case challengeNotFound = "challenge_not_found"
        case duplicateCompetitionID = "duplicate_competition_id"
        case competitionNotFound = "competition_not_found"
        case limitExceeded = "limit_exceeded"
    }

    private let codeValue: Code
    /// What exactly was wrong (an id, a name, a value). Not compared by `==`.
    public var detail: String

    private init(_ code: Code, _ detail: String = "") {
        self.codeValue = code
        self.detail = detail
    }

    /// A tracker with this id already exists (ids are unique across all accounts).
    public static let duplicateTrackerID = RiskCoreError(.duplicateTrackerID)
    /// Another tracker of the same account already has this name.
    public static let duplicateTrackerName = RiskCoreError(.duplicateTrackerName)
    /// No tracker with this id on this account.
    public static let trackerNotFound = RiskCoreError(.trackerNotFound)
    /// A tracker needs at least one of the four thresholds.
    public static let missingThreshold = RiskCoreError(.missingThreshold)
    /// A threshold is not > 0, or carries more than the 15 significant digits a JSON number keeps.
    public static let invalidThreshold = RiskCoreError(.invalidThreshold)
    /// `endBrokerTime` is before `startBrokerTime`.
    public static let invalidTimeRange = RiskCoreError(.invalidTimeRange)
    /// The name is empty.
    public static let invalidName = RiskCoreError(.invalidName)
    /// A declaration could not be read (replay `declare` directives and rules files), or a
    /// challenge/competition definition was refused by its component.
    public static let invalidDeclaration = RiskCoreError(.invalidDeclaration)

    /// A challenge with this id already exists.
    public static let duplicateChallengeID = RiskCoreError(.duplicateChallengeID)
    /// No challenge with this id.
    public static let challengeNotFound = RiskCoreError(.challengeNotFound)
    /// A competition with this id already exists.
    public static let duplicateCompetitionID = RiskCoreError(.duplicateCompetitionID)
    /// No competition with this id.
    public static let competitionNotFound = RiskCoreError(.competitionNotFound)

    /// A declaration passes one of the ``DeclarationLimits`` (``detail``: `FIELD: what`).
    public static let limitExceeded = RiskCoreError(.limitExceeded)

    /// A challenge or competition definition its component refused (``detail`` carries the
    /// component's own ``RuleDefinitionError`` code and detail).
    static func refused(_ error: RuleDefinitionError) -> RiskCoreError {
        invalidDeclaration.with(detail: "\(error.description): \(error.detail)")
    }

    /// The short, stable code (`duplicate_tracker_name`, …).
    public var code: String { codeValue.rawValue }

    /// The ``code`` alone (``detail`` says which tracker or value).
    public var description: String { code }
}
