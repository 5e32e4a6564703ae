import TidemarkProtocol

// The engine's internal storage, laid out for the per-tick path: positions live in one flat array
// of small structs (the fields a revaluation reads fit one 64-byte cache line), symbols of every
// feed in another, and each symbol keeps the list of positions that depend on it (through their
// price or their conversion rate), so a tick touches exactly the positions it moves.

/// Where a position stands. The first three are re-examined on every tick; the others only change
/// when the position or the account's symbols change.
enum PositionStatus: UInt8 {
    case known
    case noQuote
    case noConversionRate
    case outOfRange
    case unknownSymbol
    case unsupportedCalcMode
    case invalidSpecification
    case noConversionSymbol
    /// A free slot.
    case free

    var isTickDriven: Bool { self.rawValue <= PositionStatus.outOfRange.rawValue }
}

/// What a revaluation reads and writes.
struct HotPosition {
    /// Open price, 10⁻⁸ units.
    var openUnits: Int64
    /// The profit factor's numerator (see ``ProfitFactor``).
    var numerator: Int64
    /// The profit factor's denominator × the account's money step (10^(8 − currency digits)), so the
    /// quotient is a count of money steps.
    var denominatorTimesStep: Int64
    /// The account's money step in 10⁻⁸ units.
    var step: Int64
    /// The last computed profit in the account currency, 10⁻⁸ units, rounded to the money step;
    /// counted in the account's floating sum only while `status == .known`.
    var profitUnits: Int64
    var account: Int32
    var priceSymbol: Int32
    /// −1 when no conversion.
    var conversionSymbol: Int32
    var isBuy: Bool
    var conversion: ConversionKind
    var status: PositionStatus
}

/// What only binding, unbinding and views read.
struct ColdPosition {
    var position: Position
    /// Swap + commission in 10⁻⁸ units: always part of the account's floating sum. Wide: the sum
    /// of two wire values can leave `Int64`.
    var fixedUnits: Int128
    /// Where this position sits in its symbols' dependent lists (for O(1) removal).
    var priceDependentIndex: Int32
    var conversionDependentIndex: Int32
    /// The currency the profit is converted from (for the unknown reason).
    var profitCurrency: String
    /// The conversion symbol's name, when there is one.
    var conversionSymbolName: String
}

/// The last quote of one symbol in one feed.
struct Quote {
    var bid: Int64
    var ask: Int64
    var time: Int64
    var isKnown: Bool
}

/// A quote feed: each account reads its own, unless its server is mapped to a shared price source.
struct FeedKey: Hashable {
    var name: String
    var isShared: Bool
}

struct SymbolKey: Hashable {
    var feed: Int32
    var name: String
}

/// A close that the position messages reported before the deal carrying its profit arrived: its last
/// value stays in the floating sum until then, so equity does not jump down and back up.
/// Several partial closes may be pending at once; each deal releases its share by volume.
struct PendingClose {
    var positionID: Int64
    /// Lots that left the position and are not booked yet.
    var volumeUnits: Int128
    /// Their last value, 10⁻⁸ units of the account currency.
    var units: Int128
}

struct AccountRecord {
    var id: AccountID
    var platform: Platform
    var currency: String
    var digits: Int
    var step: Int64
    var feed: Int32
    // The account's sums are kept wide (Int128), so no sequence of wire values can overflow them
    // (2⁶³ values of at most 2⁶³ each); whether a sum fits ``FixedDecimal`` is checked once, when
    // it is emitted (``EquityEngine/settle(account:time:into:)``).
    var balanceUnits: Int128 = 0
    var creditUnits: Int128 = 0
    /// Σ fixed parts + Σ profits of known positions + Σ pending closes, 10⁻⁸ units.
    var floatingUnits: Int128 = 0
    var unknownPositions: Int32 = 0
    var hasSnapshot = false
    /// True once an ``EquityOutput/equityUnknown(_:)`` was emitted and not yet followed by known.
    var reportedUnknown = false
    /// The figure outside the decimal range, while ``EquityOutput/outOfRange(_:)`` holds.
    var outOfRange: AccountFigure?
    var hasEmitted = false
    var lastBalance: Int64 = 0
    var lastCredit: Int64 = 0
    var lastEquity: Int64 = 0
    var positions: [Int32] = []
    var symbols: [String: SymbolSpec] = [:]
    /// Profit currency → the conversion found (nil choice: none exists), cached until symbols change.
    var conversions: [String: CachedConversion] = [:]
    var pendingCloses: [PendingClose] = []
    /// The last deal tickets seen, to ignore a deal delivered twice.
    var recentDeals: [Int64] = []
    var touchEpoch: UInt64 = 0
    /// The latest broker time seen in this account's messages (symbol messages carry none).
    var lastTime: Int64 = 0
    /// Since when equity is unknown, while it is.
    var unknownSince: Int64?
    var drifts = 0
    var isActive = true

    var isKnown: Bool { hasSnapshot && unknownPositions == 0 }
    var equityUnits: Int128 { balanceUnits + creditUnits + floatingUnits }

    /// The first of balance, credit, floating and equity that does not fit ``FixedDecimal``.
    var figureOutOfRange: AccountFigure? {
        if FixedDecimal(wideUnits: balanceUnits) == nil { return .balance }
        if FixedDecimal(wideUnits: creditUnits) == nil { return .credit }
        if FixedDecimal(wideUnits: floatingUnits) == nil { return .floating }
        if FixedDecimal(wideUnits: equityUnits) == nil { return .equity }
        return nil
    }
}

struct CachedConversion {
    var choice: ConversionChoice?
}
