/// When a failed webhook delivery is tried again, and when it is given up. Pure: no clock, no
/// randomness — the caller passes the jitter's random fraction in.
///
/// The nominal delay after the n-th failed attempt doubles from ``initialDelay`` and is capped at
/// ``maximumDelay``: with the defaults 1 s, 2 s, 4 s … 512 s, then 600 s (10 min) for every later
/// attempt. Jitter shortens each delay by up to ``jitter`` of itself (never lengthens it, so the cap
/// holds), which spreads the retries of many deliveries that failed together (a receiver that was
/// down) instead of having them all knock at once.
///
/// A delivery is given up (kept in the outbox, marked abandoned with its last error) when
/// ``maximumAttempts`` attempts have failed, or when the next retry would fall more than
/// ``maximumAge`` after the first attempt *along the nominal schedule*. The age is measured along the
/// schedule rather than on the wall clock on purpose: time the agent was stopped does not count, so a
/// day of maintenance does not abandon a day of events. With the defaults (1 s, 10 min, 3 days,
/// 500 attempts) the age limit binds: a delivery is tried 441 times over just under 3 days
/// (1,023 s to reach the cap, then 430 retries 10 min apart, 259,023 s in all).
public struct WebhookRetryPolicy: Hashable, Sendable {
    /// The nominal delay after the first failure.
    public var initialDelay: Duration
    /// The longest nominal delay between two attempts.
    public var maximumDelay: Duration
    /// The fraction (0…1) of each delay that jitter may take off.
    public var jitter: Double
    /// Attempts, the first included, after which a delivery is given up.
    public var maximumAttempts: Int
    /// How far along the nominal schedule retries may go.
    public var maximumAge: Duration

    /// The defaults: 1 s doubling to 10 min, 20 % jitter, at most 500 attempts or 3 days.
    public init(initialDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(600), jitter: Double = 0.2,
                maximumAttempts: Int = 500, maximumAge: Duration = .seconds(3 * 24 * 3600)) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.maximumAttempts = maximumAttempts
        self.maximumAge = maximumAge
    }

    /// What to do after a failed attempt.
    public enum Decision: Hashable, Sendable {
        /// Try again after this delay.
        case retry(after: Duration)
        /// Stop: the delivery is abandoned.
        case giveUp
    }

    /// The decision after `failedAttempts` attempts (≥ 1) have failed. `randomFraction` in [0, 1)
    /// picks the jitter: 0 keeps the nominal delay, values towards 1 take off up to ``jitter`` of it.
    public func decision(afterFailedAttempts failedAttempts: Int, randomFraction: Double) -> Decision {
        let attempts = max(1, failedAttempts)
        guard attempts < maximumAttempts else { return .giveUp }
        // The retry would start at the nominal time of attempt `attempts + 1`.
        guard nominalStart(ofAttempt: attempts + 1) <= milliseconds(maximumAge) else { return .giveUp }
        let nominal = nominalDelay(afterFailedAttempts: attempts)
        let fraction = min(max(randomFraction, 0), 1) * min(max(jitter, 0), 1)
        let shortening = Int64((Double(nominal) * fraction).rounded(.down))
        return .retry(after: .milliseconds(nominal - shortening))
    }

    /// The nominal delay in milliseconds after the n-th failure: initial × 2^(n−1), at most the cap.
    func nominalDelay(afterFailedAttempts attempts: Int) -> Int64 {
        let initial = max(1, milliseconds(initialDelay))
        let cap = max(initial, milliseconds(maximumDelay))
        var delay = initial
        var doublings = max(0, attempts - 1)
        // Stops doubling at the cap, so no overflow whatever the attempt count.
        while doublings > 0 && delay < cap {
            delay = delay > cap / 2 ? cap : delay * 2
            doublings -= 1
        }
        return min(delay, cap)
    }

    /// Milliseconds from the first attempt to attempt `attempt` (1-based), with nominal delays.
    func nominalStart(ofAttempt attempt: Int) -> Int64 {
        var total: Int64 = 0
        let cap = max(1, milliseconds(maximumDelay))
        var failures = 1
        while failures < attempt {
            let delay = nominalDelay(afterFailedAttempts: failures)
            if delay >= cap {
                // Every later delay is the cap: finish in one step instead of counting hundreds.
                let (product, overflow) = Int64(attempt - failures).multipliedReportingOverflow(by: cap)
                return overflow ? .max : total.addingReportingOverflow(product).overflow ? .max : total + product
            }
            total += delay
            failures += 1
        }
        return total
    }

    private func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : whole + attoseconds / 1_000_000_000_000_000
    }
}
