import TidemarkProtocol

/// Why a challenge or competition definition was refused. The description is short and stable, so
/// it can be used as a metric label; ``detail`` says which field and value.
public struct RuleDefinitionError: TidemarkError {
    private enum Code: String, Hashable, Sendable {
        case noPhases = "no_phases"
        case invalidAmount = "invalid_amount"
        case invalidCount = "invalid_count"
        case unknownTimeZone = "unknown_time_zone"
        case brokerClockRequired = "broker_clock_required"
        case invalidResetTime = "invalid_reset_time"
        case noAccounts = "no_accounts"
        case duplicateAccount = "duplicate_account"
        case emptyWindow = "empty_window"
    }

    private let codeValue: Code
    /// Which field was wrong, and how.
    public let detail: String

    private init(_ code: Code, _ detail: String) {
        self.codeValue = code
        self.detail = detail
    }

    /// A challenge needs at least one phase.
    public static func noPhases(_ detail: String) -> Self { Self(.noPhases, detail) }
    /// An amount or percentage that must be positive was not.
    public static func invalidAmount(_ detail: String) -> Self { Self(.invalidAmount, detail) }
    /// A number of days, trades or positions that must be positive was not.
    public static func invalidCount(_ detail: String) -> Self { Self(.invalidCount, detail) }
    /// An IANA time zone identifier the system does not know.
    public static func unknownTimeZone(_ detail: String) -> Self { Self(.unknownTimeZone, detail) }
    /// The day resets in a named time zone, so the broker clock must be known to convert broker time.
    public static func brokerClockRequired(_ detail: String) -> Self { Self(.brokerClockRequired, detail) }
    /// The reset time is not `HH:mm` within a day.
    public static func invalidResetTime(_ detail: String) -> Self { Self(.invalidResetTime, detail) }
    /// A competition needs at least one account.
    public static func noAccounts(_ detail: String) -> Self { Self(.noAccounts, detail) }
    /// An account is listed twice in a competition.
    public static func duplicateAccount(_ detail: String) -> Self { Self(.duplicateAccount, detail) }
    /// A competition's window ends at or before its start.
    public static func emptyWindow(_ detail: String) -> Self { Self(.emptyWindow, detail) }

    /// The short, stable reason (`unknown_time_zone`, …).
    public var code: String { codeValue.rawValue }

    /// The ``code`` alone (``detail`` says which field).
    public var description: String { code }
}
