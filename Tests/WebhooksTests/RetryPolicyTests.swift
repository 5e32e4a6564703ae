@testable import Webhooks
import Testing
import TidemarkProtocol

@Suite("Webhook retry schedule")
struct RetryPolicyTests {
    let defaults = WebhookRetryPolicy()

    @Test("Without jitter the delay doubles from 1 s and stops at 10 min")
    func doubling() {
        // 2^(n−1) s: 1, 2, 4, 8, 16, 32, 64, 128, 256, 512; the 11th would be 1024 s, capped at 600 s.
        let expected: [Int64] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
        for (index, seconds) in expected.enumerated() {
            #expect(defaults.decision(afterFailedAttempts: index + 1, randomFraction: 0) == .retry(after: .seconds(seconds)))
        }
        #expect(defaults.decision(afterFailedAttempts: 300, randomFraction: 0) == .retry(after: .seconds(600)))
    }

    @Test("Jitter only shortens a delay, by at most its fraction")
    func jitter() {
        // 3rd failure: nominal 4,000 ms. Fraction 0.5 × jitter 0.2 = 10 % → 4,000 − 400 = 3,600 ms.
        #expect(defaults.decision(afterFailedAttempts: 3, randomFraction: 0.5) == .retry(after: .milliseconds(3600)))
        // Fraction 0.999999 × 0.2 = 0.1999998 → 4,000 × 0.1999998 = 799.9992, floored 799 → 3,201 ms.
        #expect(defaults.decision(afterFailedAttempts: 3, randomFraction: 0.999999) == .retry(after: .milliseconds(3201)))
        // At the cap: 600,000 ms − 600,000 × 0.2 × 0.25 (30,000) = 570,000 ms.
        #expect(defaults.decision(afterFailedAttempts: 50, randomFraction: 0.25) == .retry(after: .milliseconds(570_000)))
        let noJitter = WebhookRetryPolicy(jitter: 0)
        #expect(noJitter.decision(afterFailedAttempts: 3, randomFraction: 0.9) == .retry(after: .seconds(4)))
    }

    @Test("With the defaults a delivery is tried 441 times, just under 3 days along the schedule")
    func defaultsGiveUpAfterThreeDays() {
        // Attempt k starts at Σ of the first k−1 delays: 1 + 2 + … + 512 = 1,023 s reaches the cap after
        // 10 failures, then 600 s each. Attempt 441 starts at 1,023 + 430 × 600 = 259,023 s ≤ 259,200 s
        // (3 days); attempt 442 would start at 259,623 s > 259,200 s.
        #expect(defaults.nominalStart(ofAttempt: 11) == 1_023_000)
        #expect(defaults.nominalStart(ofAttempt: 441) == 259_023_000)
        #expect(defaults.decision(afterFailedAttempts: 440, randomFraction: 0) == .retry(after: .seconds(600)))
        #expect(defaults.decision(afterFailedAttempts: 441, randomFraction: 0) == .giveUp)
    }

    @Test("The attempt limit gives up after that many attempts")
    func attemptLimit() {
        let policy = WebhookRetryPolicy(maximumAttempts: 3)
        #expect(policy.decision(afterFailedAttempts: 2, randomFraction: 0) == .retry(after: .seconds(2)))
        #expect(policy.decision(afterFailedAttempts: 3, randomFraction: 0) == .giveUp)
    }

    @Test("The age limit counts nominal delays from the first attempt")
    func ageLimit() {
        // Attempts start at 0, 1, 3, 7, 15 s. With a 10 s limit the 4th (7 s) is tried, the 5th (15 s) is not.
        let policy = WebhookRetryPolicy(maximumAge: .seconds(10))
        #expect(policy.decision(afterFailedAttempts: 3, randomFraction: 0) == .retry(after: .seconds(4)))
        #expect(policy.decision(afterFailedAttempts: 4, randomFraction: 0) == .giveUp)
    }

    @Test("Huge attempt counts and limits neither overflow nor loop")
    func extremes() {
        let yearLong = WebhookRetryPolicy(maximumAttempts: .max, maximumAge: .seconds(365 * 24 * 3600))
        #expect(yearLong.decision(afterFailedAttempts: .max - 1, randomFraction: 0) == .giveUp)
        // 1,023 s + 50,000 × 600 s = 30,001,023 s < 31,536,000 s (a year): still retried.
        #expect(yearLong.decision(afterFailedAttempts: 50_010, randomFraction: 0) == .retry(after: .seconds(600)))
        // An unbounded age saturates instead of overflowing.
        let unbounded = WebhookRetryPolicy(maximumAttempts: .max, maximumAge: .seconds(Int64.max))
        #expect(unbounded.decision(afterFailedAttempts: .max - 1, randomFraction: 0) == .retry(after: .seconds(600)))
        // Zero failed attempts is read as one.
        #expect(yearLong.decision(afterFailedAttempts: 0, randomFraction: 0) == .retry(after: .seconds(1)))
    }

    @Test("The jitter generator repeats from its seed and stays in [0, 1)")
    func seededJitter() {
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        let a = (0..<1000).map { _ in first.nextFraction() }
        let b = (0..<1000).map { _ in second.nextFraction() }
        #expect(a == b)
        #expect(a.allSatisfy { (0..<1).contains($0) })
        #expect(Set(a).count == 1000)
    }
}
