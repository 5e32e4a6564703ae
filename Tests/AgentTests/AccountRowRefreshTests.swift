import EquityEngine
import Testing
import TidemarkProtocol

@testable import Agent

@Suite("Account row refresh")
struct AccountRowRefreshTests {
    static func account(_ login: Int64) -> AccountID { AccountID(server: "Demo", login: login) }

    static func observation(_ login: Int64, equity: FixedDecimal, at time: Int64 = 0) -> EquityObservation {
        EquityObservation(
            account: account(login), time: BrokerTime(milliseconds: time), balance: 10_000, credit: .zero,
            equity: equity, floating: equity - 10_000)
    }

    static func logins(_ rows: [(account: AccountID, observation: EquityObservation)]) -> [Int64] {
        rows.map { Int64($0.account.rawValue.split(separator: ":").last!)! }
    }

    @Test func nothingIsWrittenBeforeARoundStarts() {
        var refresh = AccountRowRefresh(rowsPerCommit: 2)
        refresh.observed(Self.observation(1, equity: 10_010), of: Self.account(1))
        #expect(refresh.rowsForCommit().isEmpty)
        #expect(refresh.unsavedCount == 1)
    }

    /// A round writes the accounts unsaved at its start, oldest first, at most `rowsPerCommit` per commit.
    @Test func aRoundIsSpreadOverCommitsInTheOrderAccountsBecameUnsaved() {
        var refresh = AccountRowRefresh(rowsPerCommit: 2)
        for login: Int64 in [5, 3, 9, 1, 7] {
            refresh.observed(Self.observation(login, equity: 10_000), of: Self.account(login))
        }
        refresh.startRound()
        #expect(refresh.dueInRound == 5)
        #expect(Self.logins(refresh.rowsForCommit()) == [5, 3])
        // Observed during the round: account 11 is new, so it waits for the next round.
        refresh.observed(Self.observation(11, equity: 10_000), of: Self.account(11))
        #expect(Self.logins(refresh.rowsForCommit()) == [9, 1])
        #expect(Self.logins(refresh.rowsForCommit()) == [7])
        #expect(refresh.rowsForCommit().isEmpty)
        #expect(refresh.unsavedCount == 1)
        refresh.startRound()
        #expect(Self.logins(refresh.rowsForCommit()) == [11])
    }

    /// The row gets the latest observation, however often the account was observed while waiting.
    @Test func theLatestObservationIsWritten() {
        var refresh = AccountRowRefresh(rowsPerCommit: 10)
        refresh.observed(Self.observation(1, equity: 10_010, at: 1_000), of: Self.account(1))
        refresh.observed(Self.observation(2, equity: 9_990, at: 1_000), of: Self.account(2))
        refresh.observed(Self.observation(1, equity: "10025.5", at: 2_000), of: Self.account(1))
        refresh.startRound()
        let rows = refresh.rowsForCommit()
        #expect(Self.logins(rows) == [1, 2])
        #expect(rows[0].observation.equity == FixedDecimal(units: 1_002_550_000_000))  // 10,025.5 in 1e-8 units
        #expect(rows[0].observation.time == BrokerTime(milliseconds: 2_000))
    }

    /// Every account observed on every batch (a busy agent): each round still writes each of them
    /// once, and none is starved by the ones observed again behind it.
    @Test func busyAccountsAreEachWrittenOncePerRound() {
        var refresh = AccountRowRefresh(rowsPerCommit: 3)
        let logins: [Int64] = Array(1...10)
        for round in 0..<5 {
            for login in logins {
                refresh.observed(Self.observation(login, equity: 10_000, at: Int64(round)), of: Self.account(login))
            }
            refresh.startRound()
            var written: [Int64] = []
            while refresh.dueInRound > 0 {
                written += Self.logins(refresh.rowsForCommit())
                // Every account moves again between two commits.
                for login in logins {
                    refresh.observed(Self.observation(login, equity: 10_001, at: Int64(round)), of: Self.account(login))
                }
            }
            #expect(written.sorted() == logins, "round \(round)")
        }
    }

    @Test func stoppingWritesEveryUnsavedRow() {
        var refresh = AccountRowRefresh(rowsPerCommit: 2)
        for login: Int64 in 1...5 { refresh.observed(Self.observation(login, equity: 10_000), of: Self.account(login)) }
        #expect(Self.logins(refresh.rowsForCommit(all: true)) == [1, 2, 3, 4, 5])
        #expect(refresh.unsavedCount == 0)
        #expect(refresh.rowsForCommit(all: true).isEmpty)
    }

    /// The written prefix of the line is dropped as it grows: a long-running agent's line holds
    /// about the unsaved accounts, not every observation since it started.
    @Test func theLineStaysBounded() {
        var refresh = AccountRowRefresh(rowsPerCommit: 1_000)
        for round in 0..<100 {
            for login: Int64 in 1...1_000 {
                refresh.observed(Self.observation(login, equity: 10_000, at: Int64(round)), of: Self.account(login))
            }
            refresh.startRound()
            #expect(refresh.rowsForCommit().count == 1_000)
        }
        #expect(refresh.lineStorageCount <= 2 * 4_096 + 1_000)
    }
}
