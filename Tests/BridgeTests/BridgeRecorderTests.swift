import Bridge
import Foundation
import Testing
import TidemarkProtocol

@Suite("Recorder")
struct BridgeRecorderTests {
    @Test func writesOneJSONLinesFilePerAccountThatReadsBackAsTheSameMessages() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-recorder-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let alice = AccountID("Demo:1")
        let bob = AccountID("Demo/Live:2")
        let deliveries = [
            BridgeDelivery(
                account: alice, sessionID: "a", sequence: 1, message: .hello(Fixture.hello(session: "a", login: 1))),
            BridgeDelivery(
                account: bob, sessionID: "b", sequence: 1,
                message: .hello(Fixture.hello(session: "b", login: 2, server: "Demo/Live"))),
            BridgeDelivery(account: alice, sessionID: "a", sequence: 2, message: .snapshot(Fixture.snapshot)),
            BridgeDelivery(account: alice, sessionID: "a", sequence: 3, message: Fixture.tick(5)),
        ]
        let recorder = try BridgeRecorder(directory: directory)
        for delivery in deliveries { try recorder.record(delivery) }
        recorder.close()

        func read(_ account: AccountID) throws -> [BridgeDelivery] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: recorder.path(for: account))))
            return try RecordingReader(bytes: bytes).map { entry in
                guard case .message(let account, let session, let sequence, let message) = try entry.result.get() else {
                    throw BridgeRecorderError(path: "directive", errno: 0)
                }
                return BridgeDelivery(
                    account: account, sessionID: session ?? "", sequence: sequence ?? 0, message: message)
            }
        }
        #expect(try read(alice) == deliveries.filter { $0.account == alice })
        #expect(try read(bob) == deliveries.filter { $0.account == bob })
        // A slash in the server name does not make a subdirectory.
        #expect(recorder.path(for: bob).hasSuffix("/Demo_Live:2.jsonl"))
    }
}
