import EquityEngine
import RiskCore
import TidemarkProtocol

extension AgentCore {
    /// A HEARTBEAT or TICKS frame refused for a time too far ahead.
    public struct ImplausibleTime: Hashable, Sendable {
        /// The account whose terminal sent it.
        public var account: AccountID
        /// The time it stated (a heartbeat's, or the frame's latest tick time).
        public var time: BrokerTime
        /// The latest time accepted at that moment: the wall clock in the account's broker time
        /// plus the bound.
        public var limit: BrokerTime

        /// A refusal; the core makes them.
        public init(account: AccountID, time: BrokerTime, limit: BrokerTime) {
            self.account = account
            self.time = time
            self.limit = limit
        }
    }

    /// What the store commits and the outputs act on, gathered over one batch of messages.
    public struct Effects: Sendable {
        /// The risk core's outputs, in order.
        public var riskOutputs: [RiskOutput] = []
        /// Deals to journal.
        public var deals: [(AccountID, Deal)] = []
        /// Latest observation per account (account rows, live equity).
        public var latestObservation: [AccountID: EquityObservation] = [:]
        /// HELLOs accepted (sessions opened), in order.
        public var hellos: [(sessionID: String, hello: Hello)] = []
        /// Sessions whose first SNAPSHOT was folded, in order, with their HELLO: from then on the
        /// session and its account are worth storing (a HELLO alone stores nothing).
        public var openedSessions: [(sessionID: String, hello: Hello)] = []
        /// Sessions that ended before their first SNAPSHOT (nothing of them was stored).
        public var unopenedSessionEnds: Set<String> = []
        /// Sessions that ended, in order, with the reason the store keeps (``closeReason(of:)``).
        public var sessionEnds: [(account: AccountID, sessionID: String, reason: String)] = []
        /// Latest drift per account.
        public var drifts: [AccountID: Drift] = [:]
        /// CMDACKs, in order.
        public var commandAcknowledgements: [(AccountID, CommandAcknowledgement)] = []
        /// Messages the equity engine refused (account, reason).
        public var refused: [(AccountID, String)] = []
        /// Risk inputs skipped as already folded (resent after a reconnect).
        public var skippedResent = 0
        /// Frames refused for a time too far ahead, in order (nothing of them was folded).
        public var implausibleTimes: [ImplausibleTime] = []
        /// Wall-clock time inputs fed to quiet accounts, in order (the recording keeps them).
        public var wallClockTimes: [(AccountID, BrokerTime)] = []
        /// Accounts that went into error (``AccountInputError``), in order: the pipeline tells the
        /// account's live session (RESYNC), logs and counts them.
        public var accountErrors: [(account: AccountID, error: AccountInputError)] = []
        /// Accounts whose error a snapshot cleared, in order.
        public var clearedAccountErrors: [AccountID] = []
        /// Refusals of this batch by reason (every one, also those of an account already in error).
        public var refusalsByReason: [String: Int] = [:]
        /// How many refusals this batch had.
        public var refusalCount = 0
        /// Every output of the equity engine, in order (observations, drifts, equity unknown and
        /// known again, …), when the caller asks for them by setting `[]`; nil (the agent's
        /// default) collects nothing. A replay's equity summary is made of them.
        public var equityOutputs: [EquityOutput]?
        /// Every refusal, in order, with its reason and detail (also those of an account already in
        /// error, which ``accountErrors`` lists once), when the caller asks for them by setting `[]`;
        /// nil (the agent's default) collects nothing. A replay lists each as a problem.
        public var refusals: [(account: AccountID, error: AccountInputError)]?

        /// Effects that collect only what the store commits.
        public init() {}

        /// Effects that also collect ``equityOutputs`` and ``refusals``.
        public init(collectingEveryOutput: Bool) {
            if collectingEveryOutput {
                equityOutputs = []
                refusals = []
            }
        }

        public var isEmpty: Bool {
            riskOutputs.isEmpty && deals.isEmpty && latestObservation.isEmpty && hellos.isEmpty
                && openedSessions.isEmpty && drifts.isEmpty
                && commandAcknowledgements.isEmpty && sessionEnds.isEmpty && accountErrors.isEmpty
                && clearedAccountErrors.isEmpty
        }
    }
}
