import Foundation
import Testing
import TidemarkProtocol

@Suite("Example recordings in protocol/examples")
struct ExampleTests {
    static let files = ["mt5-hedging.jsonl", "mt4.jsonl", "mt5-netting.jsonl"]

    private func messages(
        _ file: String
    ) throws -> [(account: AccountID, session: String?, sequence: UInt64?, message: TerminalMessage, json: [UInt8])] {
        let bytes = try [UInt8](
            Data(contentsOf: protocolDirectory.appendingPathComponent("examples").appendingPathComponent(file)))
        var result: [(AccountID, String?, UInt64?, TerminalMessage, [UInt8])] = []
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for (entry, line) in zip(RecordingReader(bytes: bytes), lines) {
            let decoded = try entry.result.get()
            guard case .message(let account, let session, let sequence, let message) = decoded else {
                Issue.record("\(file):\(entry.lineNumber) is not a message")
                continue
            }
            result.append((account, session, sequence, message, Array(line)))
        }
        return result
    }

    @Test("every line decodes, is canonical, and survives the wire", arguments: files)
    func decodes(_ file: String) throws {
        let lines = try messages(file)
        #expect(lines.count >= 10)
        for line in lines {
            #expect(
                RecordingCodec.encode(
                    .message(account: line.account, sessionID: line.session, sequence: line.sequence, line.message))
                    == line.json)
            let envelope = Envelope(sessionID: line.session!, sequence: line.sequence!, message: line.message)
            #expect(try WireDecoder.decodeTerminal(WireEncoder.encode(envelope)) == envelope)
        }
    }

    @Test("a complete session: hello, snapshot, …, bye, with sequences 1…n of one account", arguments: files)
    func session(_ file: String) throws {
        let lines = try messages(file)
        #expect(lines.map(\.sequence) == (1...UInt64(lines.count)).map { $0 })
        guard case .hello(let hello) = lines.first?.message else {
            Issue.record("no hello first")
            return
        }
        #expect(lines.allSatisfy { $0.account == hello.accountID && $0.session == hello.sessionID })
        guard case .snapshot = lines[1].message else {
            Issue.record("no snapshot second")
            return
        }
        guard case .bye = lines.last?.message else {
            Issue.record("no bye last")
            return
        }
        let types = Set(lines.map(\.message.recordingType))
        #expect(types.isSuperset(of: ["hello", "snapshot", "ticks", "deal", "position", "report", "heartbeat", "bye"]))
        #expect((hello.marginMode == .retailNetting) == (file == "mt5-netting.jsonl"))
    }

    @Test("the report's balance is the snapshot's plus every deal's profit, commission, swap and fee", arguments: files)
    func balanceAddsUp(_ file: String) throws {
        let lines = try messages(file)
        var balance = FixedDecimal.zero
        var reported: [FixedDecimal] = []
        for line in lines {
            switch line.message {
            case .snapshot(let snapshot): balance = snapshot.account.balance
            case .deal(let deal): balance += deal.profit + deal.commission + deal.swap + deal.fee
            case .report(let report): reported.append(report.balance)
            default: break
            }
        }
        #expect(reported == [balance])
        // The totals worked by hand in protocol/examples/README.md.
        let expected: [String: FixedDecimal] = [
            "mt5-hedging.jsonl": "11041.3", "mt4.jsonl": "5509", "mt5-netting.jsonl": "2101.65",
        ]
        #expect(balance == expected[file])
    }
}
