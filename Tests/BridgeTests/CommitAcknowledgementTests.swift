import Bridge
import Testing
import TidemarkProtocol

/// With `acknowledgesOnCommit` (the full agent), an ACK promises the message is committed: it never
/// runs ahead of what downstream reported, and a commit report sends the ACK it allows.
@Suite("Acknowledgements driven by commits")
struct CommitAcknowledgementTests {
    private static var configuration: BridgeSessionConfiguration {
        var configuration = Fixture.configuration
        configuration.acknowledgesOnCommit = true
        return configuration
    }

    private func streamingMachine() -> BridgeSessionStateMachine {
        var machine = BridgeSessionStateMachine(configuration: Self.configuration, now: Fixture.at(0))
        _ = machine.received(Fixture.envelope(.hello(Fixture.hello()), 1), now: Fixture.at(0))
        _ = machine.received(Fixture.envelope(.snapshot(Fixture.snapshot), 2), now: Fixture.at(0))
        return machine
    }

    @Test func receiptAloneSendsNoAcknowledgement() {
        var machine = streamingMachine()
        var sent: [AgentMessage] = []
        for sequence in 3...300 {
            sent +=
                machine.received(Fixture.envelope(Fixture.tick(Int64(sequence)), UInt64(sequence)), now: Fixture.at(1))
                .sentMessages
        }
        sent += machine.tick(now: Fixture.at(500)).sentMessages
        #expect(!sent.contains { if case .acknowledge = $0 { true } else { false } })
    }

    @Test func aCommitReportSendsTheAcknowledgementItAllows() {
        var machine = streamingMachine()
        for sequence in 3...5 {
            _ = machine.received(Fixture.envelope(Fixture.tick(Int64(sequence)), UInt64(sequence)), now: Fixture.at(1))
        }
        #expect(machine.committed(through: 4, now: Fixture.at(2)).sentMessages == [.acknowledge(sequence: 4)])
        // Nothing new committed: no second ACK.
        #expect(machine.committed(through: 4, now: Fixture.at(3)).sentMessages.isEmpty)
        // A heartbeat is answered with what is committed, not with what was received (#6).
        let heartbeat = machine.received(
            Fixture.envelope(.heartbeat(BrokerTime(milliseconds: 9)), 6), now: Fixture.at(4))
        #expect(heartbeat.sentMessages == [.acknowledge(sequence: 4)])
    }

    @Test func aByeIsAcknowledgedOnceCommittedEvenAfterTheSessionClosed() {
        var machine = streamingMachine()
        let bye = machine.received(Fixture.envelope(.bye(reason: "deinit"), 3), now: Fixture.at(1))
        #expect(bye.deliver)
        #expect(machine.phase == .closed)
        #expect(bye.sentMessages == [.acknowledge(sequence: 0)])
        #expect(machine.committed(through: 3, now: Fixture.at(2)).sentMessages == [.acknowledge(sequence: 3)])
    }
}
