import EquityEngine
import RiskCore
import TidemarkProtocol

/// Why the agent stopped trusting an account's figures: an input from its terminal could not be
/// represented (a sum, product or time outside the decimal or calendar range), or its snapshot
/// came incomplete. Every other account goes on as before.
///
/// The agent asks the account's session for a new snapshot (`RESYNC` with the reason) when the
/// error begins, shows it on `GET /users/current/accounts/{id}` (`error`), logs it and counts it
/// (`tidemark_account_input_refusals_total{reason}`). A SNAPSHOT that then folds without a refusal
/// (every figure representable) clears it.
public struct AccountInputError: Hashable, Sendable {
    /// What could not be represented (a bounded set: the metric's label).
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        /// The balance the deals add up to.
        case balanceOutOfRange = "balance_out_of_range"
        /// The credit the deals add up to.
        case creditOutOfRange = "credit_out_of_range"
        /// The sum of the open positions' results.
        case floatingOutOfRange = "floating_out_of_range"
        /// balance + credit + floating.
        case equityOutOfRange = "equity_out_of_range"
        /// A deal's profit + swap + commission + fee (the deal is not folded at all).
        case dealOutOfRange = "deal_out_of_range"
        /// A time outside 0000-01-01 … 9999-12-31 (`BrokerTime/calendarRange`).
        case timeOutOfRange = "time_out_of_range"
        /// A tracker's, challenge's or competition's figure (a sum, difference, product,
        /// quotient or time step) computed from the input.
        case sumOutOfRange = "sum_out_of_range"
        case differenceOutOfRange = "difference_out_of_range"
        case productOutOfRange = "product_out_of_range"
        case quotientOutOfRange = "quotient_out_of_range"
        case timeStepOutOfRange = "time_step_out_of_range"
        /// A split snapshot (protocol/SPEC.md §6.8) was interrupted by another state frame before
        /// every announced position arrived: it folded as it stood, and a whole one is needed.
        case splitSnapshotIncomplete = "split_snapshot_incomplete"

        /// The reason for an account figure out of range.
        public init(_ figure: AccountFigure) {
            switch figure {
            case .balance: self = .balanceOutOfRange
            case .credit: self = .creditOutOfRange
            case .floating: self = .floatingOutOfRange
            case .equity: self = .equityOutOfRange
            }
        }

        /// The reason for a risk-core refusal.
        public init(_ reason: RiskInputRefusal.Reason) {
            switch reason {
            case .timeOutOfRange: self = .timeOutOfRange
            case .sumOutOfRange: self = .sumOutOfRange
            case .differenceOutOfRange: self = .differenceOutOfRange
            case .productOutOfRange: self = .productOutOfRange
            case .quotientOutOfRange: self = .quotientOutOfRange
            case .timeStepOutOfRange: self = .timeStepOutOfRange
            }
        }
    }

    /// What could not be represented.
    public var reason: Reason
    /// Which figure or component, for people (`tracker t1 refused the input`, `deal 42`, …).
    public var detail: String
    /// The broker time of the input that began it, when it carried one.
    public var brokerTime: BrokerTime?

    /// An error with every field given.
    public init(reason: Reason, detail: String, brokerTime: BrokerTime?) {
        self.reason = reason
        self.detail = detail
        self.brokerTime = brokerTime
    }
}
