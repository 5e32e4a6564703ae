import TidemarkProtocol

/// Which accounts each CURVE key may speak for: the allow-list's own account lists, and the
/// bindings of keys listed without accounts (each bound to the first account it said HELLO for).
///
/// A value, decided on without I/O: the bridge consults it on every HELLO under CURVE, the agent
/// persists the bindings it makes and replaces the allow-list on SIGHUP.
public struct CurveKeyAccess: Sendable, Hashable {
    /// What a HELLO under CURVE gets.
    public enum Decision: Hashable, Sendable {
        /// The key may speak for the account.
        case allowed
        /// The key had no account: it is bound to this one from now on (persist it).
        case bind
        /// The key may not speak for the account; the detail says why (for the REJECT).
        case refused(String)
    }

    /// Admitted keys (Z85) and the accounts listed after each; an empty set: bound on first HELLO.
    public private(set) var allowList: [String: Set<AccountID>]
    /// The account each unlisted key is bound to.
    public private(set) var bindings: [String: AccountID]
    /// The key that owns each listed or bound account (an account belongs to one key at most).
    private var owners: [AccountID: String] = [:]

    /// An allow-list with the bindings known so far (bindings of keys not on the list are kept, so
    /// a key removed and added again finds its account).
    public init(allowList: [String: Set<AccountID>], bindings: [String: AccountID] = [:]) {
        self.allowList = allowList
        self.bindings = bindings
        rebuildOwners()
    }

    /// Whether `key` may say HELLO for `account`.
    public func decide(key: String, account: AccountID) -> Decision {
        guard let listed = allowList[key] else { return .refused("key is not on the allow-list") }
        if !listed.isEmpty {
            return listed.contains(account) ? .allowed : .refused("this key may not speak for \(account)")
        }
        if let owner = owners[account], owner != key { return .refused("\(account) is bound to another key") }
        if let bound = bindings[key] {
            return bound == account ? .allowed : .refused("this key is bound to \(bound), not \(account)")
        }
        return .bind
    }

    /// The key that may speak for `account` (listed with it, or bound to it), if any.
    public func owner(of account: AccountID) -> String? { owners[account] }

    /// Records that `key` is bound to `account` (after ``Decision/bind``, or set by an operator);
    /// nil unbinds the key (its next HELLO binds it again).
    public mutating func bind(_ key: String, to account: AccountID?) {
        bindings[key] = account
        rebuildOwners()
    }

    /// Replaces the allow-list (a reload); returns the keys that were on the old list and are not
    /// on the new one, or whose listed accounts changed (their live sessions must end).
    public mutating func replaceAllowList(_ newList: [String: Set<AccountID>]) -> Set<String> {
        let changed = Set(allowList.keys.filter { newList[$0] != allowList[$0] })
        allowList = newList
        rebuildOwners()
        return changed
    }

    private mutating func rebuildOwners() {
        owners.removeAll(keepingCapacity: true)
        for (key, accounts) in allowList { for account in accounts { owners[account] = key } }
        for (key, account) in bindings where allowList[key]?.isEmpty ?? true {
            if owners[account] == nil { owners[account] = key }
        }
    }
}

/// Bounds on what the bridge accepts from terminals, per peer (its CURVE key under CURVE, else its
/// IP address) and in total. A HELLO past a bound gets `REJECT limit_reached`.
public struct BridgeAdmissionLimits: Sendable, Hashable {
    /// Live sessions one peer may hold.
    public var sessionsPerPeer: Int
    /// Live sessions in total.
    public var sessions: Int
    /// Accounts the agent has not seen before that one peer may open sessions for per minute.
    public var newAccountsPerPeerPerMinute: Int
    /// The same, for all peers together.
    public var newAccountsPerMinute: Int

    /// Limits; the defaults let a few thousand terminals behind one address (the loopback default:
    /// every local terminal is one peer) connect at once, and stop a runaway peer within a minute.
    public init(sessionsPerPeer: Int = 10_000, sessions: Int = 20_000,
                newAccountsPerPeerPerMinute: Int = 2_000, newAccountsPerMinute: Int = 4_000) {
        self.sessionsPerPeer = sessionsPerPeer
        self.sessions = sessions
        self.newAccountsPerPeerPerMinute = newAccountsPerPeerPerMinute
        self.newAccountsPerMinute = newAccountsPerMinute
    }

    /// No bound that any test or deployment reaches.
    public static let unlimited = BridgeAdmissionLimits(sessionsPerPeer: .max, sessions: .max,
                                                        newAccountsPerPeerPerMinute: .max, newAccountsPerMinute: .max)
}

/// Which limit refused a HELLO: a bounded metric label.
public enum BridgeLimit: String, Hashable, Sendable, CaseIterable {
    case sessionsPerPeer = "sessions_per_peer"
    case sessions = "sessions"
    case newAccountsPerPeer = "new_accounts_per_peer"
    case newAccounts = "new_accounts"
}

/// The counts the limits are checked against: live sessions per peer and in total, and new
/// accounts in the current minute. Pure: time comes in with every call.
struct BridgeAdmissionCounts: Sendable {
    let limits: BridgeAdmissionLimits
    private(set) var liveSessions = 0
    private var liveSessionsOfPeer: [String: Int] = [:]
    /// Accounts seen with a completed snapshot (or known from the store at start).
    private var knownAccounts: Set<AccountID>
    private var windowStart = MonotonicInstant(milliseconds: Int64.min / 2)
    private var newAccountsInWindow = 0
    private var newAccountsOfPeerInWindow: [String: Int] = [:]

    init(limits: BridgeAdmissionLimits, knownAccounts: Set<AccountID>) {
        self.limits = limits
        self.knownAccounts = knownAccounts
    }

    /// The limit a HELLO for `account` from `peer` would pass, or nil when it may go ahead (then it
    /// is counted: call ``opened(peer:)`` when the session opens).
    mutating func admit(account: AccountID, peer: String, now: MonotonicInstant) -> BridgeLimit? {
        if liveSessions >= limits.sessions { return .sessions }
        if liveSessionsOfPeer[peer, default: 0] >= limits.sessionsPerPeer { return .sessionsPerPeer }
        guard !knownAccounts.contains(account) else { return nil }
        if now.milliseconds(since: windowStart) >= 60_000 {
            windowStart = now
            newAccountsInWindow = 0
            newAccountsOfPeerInWindow.removeAll()
        }
        if newAccountsInWindow >= limits.newAccountsPerMinute { return .newAccounts }
        if newAccountsOfPeerInWindow[peer, default: 0] >= limits.newAccountsPerPeerPerMinute { return .newAccountsPerPeer }
        newAccountsInWindow += 1
        newAccountsOfPeerInWindow[peer, default: 0] += 1
        return nil
    }

    mutating func opened(peer: String) {
        liveSessions += 1
        liveSessionsOfPeer[peer, default: 0] += 1
    }

    mutating func closed(peer: String) {
        liveSessions -= 1
        let left = liveSessionsOfPeer[peer, default: 1] - 1
        liveSessionsOfPeer[peer] = left > 0 ? left : nil
    }

    /// The account completed a snapshot: it no longer counts as new.
    mutating func known(_ account: AccountID) { knownAccounts.insert(account) }
}
