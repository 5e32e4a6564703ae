import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// The ready-made templates in deploy/challenge-templates, run end to end on scripted accounts.
@Suite struct ChallengeTemplateTests {
    static func template(_ name: String) throws -> Challenge {
        var definition = try loadTemplate(name, as: ChallengeDefinition.self)
        definition.account = testAccount
        return try Challenge(definition: definition)
    }

    @Test(arguments: ["two-step.json", "one-step.json", "instant-funding.json"])
    func templatesDecodeValidateAndRoundTrip(_ name: String) throws {
        let definition = try loadTemplate(name, as: ChallengeDefinition.self)
        try definition.validate()
        let again = try JSONDecoder().decode(ChallengeDefinition.self, from: JSONEncoder().encode(definition))
        #expect(again == definition)
    }

    /// Two-step: four +2,500 days pass the evaluation (10 %), four +1,250 days pass the verification
    /// (5 % of a fresh 100,000), and the funded phase fails on a daily loss.
    static let twoStepScript: [RiskInput] = {
        var inputs: [RiskInput] = [flat("2024-03-04 00:00", 100_000)]
        // Evaluation. Days end at Prague midnight = 01:00 broker this week (server UTC+2, Prague UTC+1).
        inputs += roundTrip("2024-03-04", ticket: 1, from: 100_000, profit: 2_500)  // 102,500
        // Tue dip: base max(102,500, 102,500) = 102,500, floor 97,500; 98,000 holds.
        inputs += open("2024-03-05 10:00", ticket: 2)
        inputs += [observation("2024-03-05 12:00", balance: 102_500, equity: 98_000)]
        inputs += close("2024-03-05 15:00", ticket: 2, profit: 2_500, newBalance: 105_000)  // 105,000
        inputs += roundTrip("2024-03-06", ticket: 3, from: 105_000, profit: 2_500)  // 107,500: 7,500 < 10,000
        inputs += roundTrip("2024-03-07", ticket: 4, from: 107_500, profit: 2_500)  // 110,000: 10,000, 4 days → pass
        // Verification from capital 100,000: raw 110,000 reads 100,000; target 5,000.
        inputs += roundTrip("2024-03-08", ticket: 5, from: 110_000, profit: 1_250)  // 111,250
        inputs += roundTrip("2024-03-11", ticket: 6, from: 111_250, profit: 1_250)  // 112,500
        inputs += roundTrip("2024-03-12", ticket: 7, from: 112_500, profit: 1_250)  // 113,750
        inputs += roundTrip("2024-03-13", ticket: 8, from: 113_750, profit: 1_250)  // 115,000 → 105,000: pass
        // Funded from 100,000: raw 115,000 reads 100,000. Thu day base 100,000, floor 95,000.
        // Raw equity 109,999 reads 94,999 < 95,000 → daily loss 5,001.
        inputs += open("2024-03-14 10:00", ticket: 9)
        inputs += [observation("2024-03-14 12:00", balance: 115_000, equity: 109_999)]
        return inputs
    }()

    @Test func twoStepEndToEnd() throws {
        var subject = try Self.template("two-step.json")
        let events = try run(&subject, Self.twoStepScript)
        #expect(
            events.map(\.kind) == [
                .phaseStarted, .phasePassed, .phaseStarted, .phasePassed, .phaseStarted, .challengeFailed,
            ])
        #expect(
            events.map(\.phaseName) == ["evaluation", "evaluation", "verification", "verification", "funded", "funded"])
        #expect(
            events.map(\.brokerTime) == [
                at("2024-03-04 00:00"), at("2024-03-07 15:00"), at("2024-03-07 15:00"),
                at("2024-03-13 15:00"), at("2024-03-13 15:00"), at("2024-03-14 12:00"),
            ])
        let failure = try #require(events.last?.breach)
        #expect(failure.rule == .dailyLoss)
        #expect(failure.value == 5_001)
        #expect(failure.limit == 5_000)
        #expect(failure.floor == 95_000)
        #expect(events.last?.enforcement == [.closeAllPositions, .disableTrading])
        #expect(subject.status == .failed)
        #expect(subject.progress.decidedAt == at("2024-03-14 12:00"))
        // Frozen after the decision.
        #expect(try subject.apply(flat("2024-03-15 12:00", 200_000)).isEmpty)
        #expect(subject.progress.equity == 94_999)
    }

    /// Crash recovery: stopping after any input, persisting the challenge as JSON and resuming gives
    /// the same events as one uninterrupted run.
    @Test func checkpointAtEverySplitGivesTheSameEvents() throws {
        var whole = try Self.template("two-step.json")
        let expected = try run(&whole, Self.twoStepScript)
        for split in 0...Self.twoStepScript.count {
            var first = try Self.template("two-step.json")
            var events = try run(&first, Array(Self.twoStepScript[..<split]))
            var resumed = try JSONDecoder().decode(Challenge.self, from: JSONEncoder().encode(first))
            events += try run(&resumed, Array(Self.twoStepScript[split...]))
            #expect(events == expected, "split at \(split)")
            #expect(resumed == whole, "state after split at \(split)")
        }
    }

    /// One-step, passing: the best-day rule holds the pass until other days catch up.
    @Test func oneStepBestDayRuleHoldsThePass() throws {
        var subject = try Self.template("one-step.json")
        // Days end 17:00 New York = 00:00 broker on this NY+7 server.
        var events = try run(
            &subject,
            [flat("2024-03-04 00:00", 100_000)]
                + roundTrip("2024-03-04", ticket: 1, from: 100_000, profit: 3_000)  // 103,000
                + roundTrip("2024-03-05", ticket: 2, from: 103_000, profit: 6_000)  // 109,000
                + roundTrip("2024-03-06", ticket: 3, from: 109_000, profit: 1_000))  // 110,000
        // Target 10,000 met on 3 days, but best day 6,000 > 50 % × 10,000 = 5,000.
        #expect(!events.contains { $0.kind == .phasePassed })
        let consistency = try #require(rule(.consistency, in: subject))
        #expect(consistency.value == 6_000)
        #expect(consistency.limit == 5_000)
        #expect(consistency.status == .pending)
        // Trailing floor: end of Mon, mark 103,000 → 97,000; end of Tue, mark 109,000 → 103,000,
        // locked at the initial 100,000.
        #expect(rule(.maxLoss, in: subject)?.floor == 100_000)
        events = try run(&subject, roundTrip("2024-03-07", ticket: 4, from: 110_000, profit: 2_000))  // 112,000
        // Total 12,000, allowed 6,000, best 6,000 → passes Thu 15:00 into the funded phase.
        #expect(events.map(\.kind) == [.phasePassed, .phaseStarted])
        #expect(events.first?.brokerTime == at("2024-03-07 15:00"))
        #expect(subject.progress.phaseName == "funded")
        #expect(subject.progress.balance == 100_000)  // fresh 100,000: raw 112,000 − 12,000
    }

    /// One-step, failing on the end-of-day trailing max loss.
    @Test func oneStepFailsOnTheTrailingFloor() throws {
        var subject = try Self.template("one-step.json")
        var inputs: [RiskInput] = [flat("2024-03-04 00:00", 100_000)]
        // 105,000; EOD mark 105,000 → floor 99,000
        inputs += roundTrip("2024-03-04", ticket: 1, from: 100_000, profit: 5_000)
        // Tue: base 105,000, daily floor 102,000; dip to 102,200 holds; closes −2,800 at 102,200.
        inputs += open("2024-03-05 10:00", ticket: 2)
        inputs += [observation("2024-03-05 12:00", balance: 105_000, equity: 102_200)]
        inputs += close("2024-03-05 15:00", ticket: 2, profit: -2_800, newBalance: 102_200)
        // Wed: base 102,200, daily floor 99,200; closes −2,200 at 100,000 (mark stays 105,000).
        inputs += roundTrip("2024-03-06", ticket: 3, from: 102_200, profit: -2_200)
        // Thu: daily floor 97,000; max-loss floor 105,000 − 6,000 = 99,000; 98,999 breaks only the latter:
        // 105,000 − 98,999 = 6,001 > 6,000.
        inputs += open("2024-03-07 10:00", ticket: 4)
        inputs += [observation("2024-03-07 12:00", balance: 100_000, equity: 98_999)]
        let events = try run(&subject, inputs)
        let failed = try #require(events.last)
        #expect(failed.kind == .challengeFailed)
        #expect(failed.breach?.rule == .maxLoss)
        #expect(failed.breach?.value == 6_001)
        #expect(failed.breach?.limit == 6_000)
        #expect(failed.breach?.floor == 99_000)
        #expect(failed.brokerTime == at("2024-03-07 12:00"))
    }

    /// Instant funding: exposure warning, then the equity-trailing floor.
    @Test func instantFundingTrailsEquity() throws {
        var subject = try Self.template("instant-funding.json")
        let events = try run(
            &subject,
            [flat("2024-03-04 00:00", 100_000)]
                + open("2024-03-04 10:00", ticket: 1, lots: 15)
                + open("2024-03-04 10:05", ticket: 2, lots: 6)  // 21 lots > 20: warning, no failure
                + [
                    observation("2024-03-04 12:00", balance: 100_000, equity: 103_000),  // mark 103,000 → floor 98,000
                    observation("2024-03-04 13:00", balance: 100_000, equity: 98_000),  // on the floor: holds
                    observation("2024-03-04 13:30", balance: 100_000, equity: 97_999),
                ])  // below: 5,001 from the mark
        #expect(events.map(\.kind) == [.phaseStarted, .ruleWarning, .challengeFailed])
        #expect(events[1].breach?.rule == .maxTotalLots)
        #expect(events[1].breach?.value == 21)
        #expect(events[1].brokerTime == at("2024-03-04 10:05"))
        #expect(events[2].breach?.rule == .maxLoss)  // the daily floor 97,000 still holds at 97,999
        #expect(events[2].breach?.value == 5_001)
        #expect(events[2].breach?.limit == 5_000)
        #expect(events[2].enforcement == [.closeAllPositions, .disableTrading])
    }
}
