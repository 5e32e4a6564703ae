import Foundation
import RiskCore
import Testing
import TidemarkProtocol

/// Competitions: ranking, tie-breaks, disqualification, the end of the window, checkpoints.
@Suite struct CompetitionTests {
    static let a = AccountID("Example-Server:1001")
    static let b = AccountID("Example-Server:1002")
    static let c = AccountID("Example-Server:1003")
    static let d = AccountID("Example-Server:1004")

    /// The template (gain %, 10 % trailing drawdown from peak equity, 5 lots per position, ≥ 1 trade)
    /// with a fourth account that never trades.
    static func cup() throws -> Competition {
        var definition = try loadTemplate("competition.json", as: CompetitionDefinition.self)
        definition.accounts.append(d)
        return try Competition(definition: definition)
    }

    static let script: [RiskInput] =
        [
            flat("2024-03-01 12:00", 10_000, account: a), flat("2024-03-01 12:00", 20_000, account: b),
            flat("2024-03-01 12:00", 10_000, account: c), flat("2024-03-01 12:00", 5_000, account: d),
            // Start (A's heartbeat): everyone at gain 0 %, no drawdown → account id order A 1, B 2, C 3, D 4.
            .time(a, at("2024-03-04 00:00")),
        ] + open("2024-03-04 10:00", ticket: 1, account: a) + [
            // A: (11,000 − 10,000) × 100 ÷ 10,000 = 10 % — still first, no event.
            observation("2024-03-04 12:00", balance: 10_000, equity: 11_000, account: a)
        ] + open("2024-03-04 10:30", ticket: 2, account: b) + [
            // B: 3,000 × 100 ÷ 20,000 = 15 % → B 1, A 2.
            observation("2024-03-04 13:00", balance: 20_000, equity: 23_000, account: b),
            // C: 5 % — stays third.
            observation("2024-03-04 14:00", balance: 10_000, equity: 10_500, account: c),
            // C: peak 10,500, floor 10,500 − 10 % × 10,000 = 9,500; 9,400 < 9,500 → disqualified,
            // drawdown 10,500 − 9,400 = 1,100 > 1,000. D moves up to 3.
            observation("2024-03-04 15:00", balance: 10_000, equity: 9_400, account: c),
            // The end, reached by each account's own heartbeat; the last one makes it final. D never
            // traded (0 < 1 trade) → disqualified when it reaches the end.
            .time(a, at("2024-03-09 00:00")), .time(b, at("2024-03-09 00:00")), .time(c, at("2024-03-09 00:00")),
            .time(d, at("2024-03-09 00:00")),
        ]

    @Test func rankingDisqualificationAndTheEnd() throws {
        var cup = try Self.cup()
        let events = Self.script.flatMap { cup.apply($0) }
        let summary = events.map {
            "\($0.kind.rawValue) \($0.account?.rawValue ?? "-") \($0.previousRank.map(String.init) ?? "-")→\($0.rank.map(String.init) ?? "-")"
        }
        #expect(
            summary == [
                "started - -→-",
                "rankChanged Example-Server:1001 -→1", "rankChanged Example-Server:1002 -→2",
                "rankChanged Example-Server:1003 -→3", "rankChanged Example-Server:1004 -→4",
                "rankChanged Example-Server:1002 2→1", "rankChanged Example-Server:1001 1→2",
                "disqualified Example-Server:1003 3→-",
                "rankChanged Example-Server:1004 4→3", "rankChanged Example-Server:1003 3→-",
                "disqualified Example-Server:1004 3→-",
                "rankChanged Example-Server:1004 3→-",
                "finished - -→-",
            ])
        let cDisqualified = try #require(events.first { $0.kind == .disqualified && $0.account == Self.c })
        #expect(cDisqualified.breach?.rule == .maxLoss)
        #expect(cDisqualified.breach?.value == 1_100)
        #expect(cDisqualified.breach?.limit == 1_000)
        #expect(cDisqualified.brokerTime == at("2024-03-04 15:00"))
        #expect(cDisqualified.enforcement == [.disableTrading])
        let dDisqualified = try #require(events.first { $0.kind == .disqualified && $0.account == Self.d })
        #expect(dDisqualified.breach?.rule == .minTrades)
        #expect(dDisqualified.breach?.value == 0)
        #expect(dDisqualified.brokerTime == at("2024-03-09 00:00"))

        let board = cup.leaderboard
        #expect(board.map(\.account) == [Self.b, Self.a, Self.c, Self.d])
        #expect(board.map(\.rank) == [1, 2, nil, nil])
        #expect(board.map(\.value) == [15, 10, -6, 0])  // C frozen at (9,400 − 10,000) × 100 ÷ 10,000 = −6 %
        // C's drawdown: 1,100 × 100 ÷ 10,500 = 10.476190476… → 10.47619048.
        #expect(board[2].maxDrawdownPercent == "10.47619048")
        #expect(board[0].initialCapital == 20_000)
        #expect(board[0].profit == 3_000)
        #expect(cup.status == .finished)
        #expect(cup.apply(flat("2024-03-10 00:00", 99_000, account: Self.a)).isEmpty)
    }

    /// Equal values go to the smaller drawdown, then to the smaller account id.
    @Test func tiesAreBrokenByDrawdownThenAccount() throws {
        let x = AccountID("S:1")
        let y = AccountID("S:2")
        let z = AccountID("S:3")
        var competition = try Competition(
            definition: CompetitionDefinition(
                id: "ties", accounts: [z, x, y], startTime: at("2024-03-04 00:00"), endTime: at("2024-03-09 00:00"),
                metric: .absoluteProfit))
        for input in [
            flat("2024-03-04 00:00", 10_000, account: x), flat("2024-03-04 00:00", 10_000, account: y),
            flat("2024-03-04 00:00", 10_000, account: z),
            // X: peak 11,200 then 11,000: profit 1,000, drawdown 200 × 100 ÷ 11,200 = 1.78571428… %.
            flat("2024-03-04 10:00", 11_200, account: x), flat("2024-03-04 11:00", 11_000, account: x),
            // Y and Z: profit 1,000 with no drawdown: equal → id order S:2 before S:3.
            flat("2024-03-04 12:00", 11_000, account: z), flat("2024-03-04 12:00", 11_000, account: y),
        ] {
            _ = competition.apply(input)
        }
        let board = competition.leaderboard
        #expect(board.map(\.account) == [y, z, x])
        #expect(board.map(\.value) == [1_000, 1_000, 1_000])
        #expect(board[2].maxDrawdownPercent == "1.78571429")
    }

    /// Gain ÷ max drawdown, with the 1 % floor on the divisor.
    @Test func gainToMaxDrawdown() throws {
        let p = AccountID("S:1")
        let q = AccountID("S:2")
        var competition = try Competition(
            definition: CompetitionDefinition(
                id: "ratio", accounts: [p, q], startTime: at("2024-03-04 00:00"), endTime: at("2024-03-09 00:00"),
                metric: .gainToMaxDrawdown))
        var events: [CompetitionEvent] = []
        for input in [
            flat("2024-03-04 00:00", 10_000, account: p), flat("2024-03-04 00:00", 10_000, account: q),
            flat("2024-03-04 10:00", 11_000, account: p),
            // P: drawdown 550 × 100 ÷ 11,000 = 5 %; gain 4.5 % → 4.5 ÷ 5 = 0.9.
            flat("2024-03-04 11:00", 10_450, account: p),
            // Q: gain 3 %, no drawdown → 3 ÷ max(0, 1) = 3: Q overtakes P.
            flat("2024-03-04 12:00", 10_300, account: q),
            // P: gain 20 % ÷ 5 % = 4 → P back on top.
            flat("2024-03-04 13:00", 12_000, account: p),
        ] {
            events += competition.apply(input)
        }
        #expect(competition.leaderboard.map(\.account) == [p, q])
        #expect(competition.leaderboard.map(\.value) == [4, 3])
        let qRanks = events.filter { $0.kind == .rankChanged && $0.account == q }.map(\.rank)
        #expect(qRanks == [2, 1, 2])  // start (id order), overtakes at 12:00, overtaken at 13:00
    }

    /// Terminals interleave freely: P's first input after the end arrives before Q's last ticks from
    /// before it. Q's ticks still count; P's later input does not; the competition is final once Q
    /// reaches the end too.
    @Test func eachAccountEndsAtItsOwnLastInputBeforeTheEnd() throws {
        let p = AccountID("S:1")
        let q = AccountID("S:2")
        var competition = try Competition(
            definition: CompetitionDefinition(
                id: "end", accounts: [p, q], startTime: at("2024-03-04 00:00"), endTime: at("2024-03-09 00:00"),
                metric: .absoluteProfit))
        var events: [CompetitionEvent] = []
        for input in [
            flat("2024-03-04 00:00", 10_000, account: p), flat("2024-03-04 00:00", 10_000, account: q),
            flat("2024-03-08 23:00", 10_500, account: p),
            // P reaches the end: frozen at +500; its later tick is ignored.
            flat("2024-03-09 00:00:01", 10_900, account: p), flat("2024-03-09 00:10", 12_000, account: p),
            // Q's ticks from before the end, arriving after P's: +300, then +800 overtakes P's +500.
            flat("2024-03-08 23:30", 10_300, account: q), flat("2024-03-08 23:59:59", 10_800, account: q),
        ] {
            events += competition.apply(input)
        }
        #expect(competition.status == .running)
        #expect(competition.leaderboard.map(\.value) == [800, 500])
        #expect(competition.leaderboard.map(\.account) == [q, p])
        // Q's own heartbeat at the end: both have reached it, the leaderboard is final.
        events += competition.apply(.time(q, at("2024-03-09 00:00:02")))
        #expect(competition.status == .finished)
        #expect(events.last?.kind == .finished)
        #expect(competition.leaderboard.map(\.value) == [800, 500])
        #expect(competition.leaderboard.map(\.rank) == [1, 2])
    }

    /// A member that never reaches the end (its terminal went away) does not hold the competition
    /// open forever: once another member's time is an hour past the end, it is final as it stands.
    @Test func theGraceAfterTheEndMakesItFinal() throws {
        let p = AccountID("S:1")
        let q = AccountID("S:2")
        var competition = try Competition(
            definition: CompetitionDefinition(
                id: "grace", accounts: [p, q], startTime: at("2024-03-04 00:00"), endTime: at("2024-03-09 00:00"),
                metric: .absoluteProfit))
        for input in [
            flat("2024-03-04 00:00", 10_000, account: p), flat("2024-03-04 00:00", 10_000, account: q),
            flat("2024-03-05 10:00", 10_200, account: q), .time(p, at("2024-03-09 00:59:59.999")),
        ] {
            _ = competition.apply(input)
        }
        #expect(competition.status == .running)
        let events = competition.apply(.time(p, at("2024-03-09 01:00")))
        #expect(competition.status == .finished)
        #expect(events.map(\.kind) == [.finished])
        #expect(competition.leaderboard.map(\.value) == [200, 0])
        #expect(competition.apply(flat("2024-03-08 12:00", 15_000, account: q)).isEmpty)
    }

    @Test func checkpointAtEverySplitGivesTheSameEvents() throws {
        var whole = try Self.cup()
        let expected = Self.script.flatMap { whole.apply($0) }
        for split in 0...Self.script.count {
            var first = try Self.cup()
            var events = Self.script[..<split].flatMap { first.apply($0) }
            var resumed = try JSONDecoder().decode(Competition.self, from: JSONEncoder().encode(first))
            events += Self.script[split...].flatMap { resumed.apply($0) }
            #expect(events == expected, "split at \(split)")
        }
    }

    @Test func templateRoundTripsAndBadDefinitionsAreRefused() throws {
        let definition = try loadTemplate("competition.json", as: CompetitionDefinition.self)
        #expect(
            try JSONDecoder().decode(CompetitionDefinition.self, from: JSONEncoder().encode(definition)) == definition)
        var duplicate = definition
        duplicate.accounts.append(definition.accounts[0])
        #expect(throws: RuleDefinitionError.duplicateAccount("competition march-cup lists an account twice")) {
            try Competition(definition: duplicate)
        }
        var empty = definition
        empty.endTime = empty.startTime
        #expect(throws: RuleDefinitionError.emptyWindow("competition march-cup ends at or before its start")) {
            try Competition(definition: empty)
        }
    }
}
