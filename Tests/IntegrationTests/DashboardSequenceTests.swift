import AsyncHTTPClient
import FeedProtocol
import Foundation
import NIOCore
import NIOSSL
import RiskCore
import TestSupport
import Testing
import TidemarkProtocol

/// The dashboard-wide event order (the API's `sequenceNumber`) under concurrent ingest by two
/// dashboard processes on one database: real processes, real PostgreSQL, real mutual TLS.
@Suite("Dashboard event order across processes", .serialized)
struct DashboardSequenceTests {
    static let batches = 25
    static let eventsPerBatch = 20

    @Test func twoDashboardProcessesIngestingAtOnceNumberEventsWithoutGapsAndAReaderMissesNone() async throws {
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a", "b"])
        let database = try PostgresForTests.freshDatabase()
        let first = FullDashboard(in: directory, database: database, pki: pki)
        let second = FullDashboard(in: directory, database: database, pki: pki)
        // A short long-poll timeout bounds each of the reader's waits, whichever process's commit
        // (its own, or the other's through LISTEN/NOTIFY) wakes it.
        for process in [first, second] { process.extraEnvironment["TIDEMARK_DASHBOARD_LONG_POLL_SECONDS"] = "1" }
        try await first.start()
        try await second.start()
        let reader = try DashboardClient(first)
        defer { reader.shutdown() }
        let total = 2 * Self.batches * Self.eventsPerBatch
        let (firstURL, secondURL) = (first.feedURL, second.feedURL)

        // Agent a feeds the first process while agent b feeds the second; a reader follows the
        // first process's event stream from wherever it last read.
        async let fedA: Void = Self.feed(agent: "a", account: "Load:1", to: firstURL, pki: pki)
        async let fedB: Void = Self.feed(agent: "b", account: "Load:2", to: secondURL, pki: pki)
        var seen: [Int] = []
        var resumeAfter = 0
        try await eventually("the reader to see every event", deadline: .seconds(120), interval: .milliseconds(1)) {
            let page = try DashboardAPITests.array(
                try await reader.get("/users/current/tracker-events/stream?previousSequenceNumber=\(resumeAfter)").body)
            let numbers = page.compactMap { ($0 as? [String: Any])?["sequenceNumber"] as? Int }
            #expect(numbers == numbers.sorted() && numbers.allSatisfy { $0 > resumeAfter })
            seen += numbers
            resumeAfter = numbers.last ?? resumeAfter
            return seen.count >= total
        }
        try await fedA
        try await fedB

        // Every number from 1 to N, once: an event committed after a higher number was read would
        // be missing here, since the reader resumed past it.
        #expect(seen == Array(1...total))
        #expect(
            try first.query("SELECT COUNT(*), MIN(dashboard_sequence), MAX(dashboard_sequence) FROM event")
                == ["\(total)|1|\(total)"])
        // Each agent's events keep the agent's order within the dashboard's.
        #expect(
            try first.query(
                """
                SELECT COUNT(*) FROM (SELECT dashboard_sequence, lag(dashboard_sequence) OVER (PARTITION BY store_id ORDER BY sequence) AS previous
                FROM event) e WHERE previous > dashboard_sequence
                """) == ["0"])
        #expect(await first.stop() == 0)
        #expect(await second.stop() == 0)
    }

    /// Posts the agent's events in batches, one after the other, as its feed would.
    static func feed(agent: String, account: String, to feedURL: String, pki: TestPKI) async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.authority))
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.certificate(agent)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.key(agent), format: .pem))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            try await post(agent: agent, account: account, to: feedURL, with: client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func post(agent: String, account: String, to feedURL: String, with client: HTTPClient) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for batch in 0..<batches {
            var items: [FeedItem] = []
            for index in 0..<eventsPerBatch {
                let sequence = UInt64(batch * eventsPerBatch + index + 1)
                let time = BrokerTime(milliseconds: 1_549_324_800_000 + Int64(sequence) * 1_000)
                let event = TrackerEvent(
                    sequenceNumber: sequence, accountId: AccountID(account), trackerId: "t-\(agent)",
                    startBrokerTime: BrokerTime(milliseconds: 1_549_324_800_000), endBrokerTime: nil, period: .lifetime,
                    brokerTime: time, absoluteDrawdown: FixedDecimal(units: Int64(sequence)),
                    relativeDrawdown: .zero, absoluteProfit: .zero, relativeProfit: .zero,
                    exceededThresholdType: .drawdown)
                items.append(
                    FeedItem(
                        sequence: sequence,
                        record: .event(
                            FeedEvent(
                                sequence: sequence, kind: "tracker", type: "drawdown", accountId: account,
                                subjectId: "t-\(agent)", brokerTime: time.milliseconds,
                                body: String(decoding: try encoder.encode(event), as: UTF8.self)))))
            }
            let body = FeedBatch(
                agent: FeedAgentStatus(
                    version: "test", storeId: "store-\(agent)", terminalsConnected: 1, outboxBacklog: items.count,
                    outboxOldestAgeMilliseconds: 0, overflowedRows: 0, lostThrough: 0),
                items: items, accountStates: [])
            var request = HTTPClientRequest(url: feedURL + FeedPath.batches)
            request.method = .POST
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
            let response = try await client.execute(request, timeout: .seconds(30))
            let answer = try await response.body.collect(upTo: 1 << 20)
            let acknowledgement = try JSONDecoder().decode(
                FeedAcknowledgement.self, from: Data(answer.readableBytesView))
            #expect(acknowledgement.acknowledgedThrough == items.last!.sequence)
        }
    }
}
