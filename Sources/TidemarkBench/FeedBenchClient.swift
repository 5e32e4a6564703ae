import AsyncHTTPClient
import FeedProtocol
import Foundation
import NIOCore
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// One agent's side of the feed as the bench drives it: its own client certificate and
/// connection, posting real ``FeedBatch`` JSON to `POST /feed/v1/batches`, one batch at a time and
/// waiting for each acknowledgement, as the agent's feed service does.
final class FeedBenchClient: Sendable {
    let name: String
    let accounts: [String]
    private let client: HTTPClient
    private let url: String

    /// A batch encoded ahead of its phase.
    struct PreparedBatch: Sendable {
        var body: Data
        /// Events plus account states in it.
        var items: Int
        /// The acknowledgement it must get (the last event's sequence), when it carries events.
        var expectedAcknowledgement: UInt64?
    }

    init(name: String, accounts: [String], dashboardURL: String, pki: BenchPKI) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.authority))
        tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.certificate(name)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.key(name), format: .pem))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.name = name
        self.accounts = accounts
        self.url = dashboardURL + FeedPath.batches
    }

    /// Posts one batch; the dashboard's acknowledgement.
    func post(_ batch: FeedBatch) async throws -> FeedAcknowledgement {
        try await post(encoded: try JSONEncoder().encode(batch))
    }

    /// Posts one batch already encoded as JSON.
    func post(encoded body: Data) async throws -> FeedAcknowledgement {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw FeedBenchError("\(name): HTTP \(response.status.code): \(String(buffer: answer).prefix(300))")
        }
        return try JSONDecoder().decode(FeedAcknowledgement.self, from: Data(answer.readableBytesView))
    }

    /// The agent's status line of every batch (a backlog as a real agent under load would report).
    func status(acknowledged: UInt64) -> FeedAgentStatus {
        FeedAgentStatus(
            version: TidemarkVersion.current, storeId: "bench-store-\(name)", terminalsConnected: accounts.count,
            outboxBacklog: 0, outboxOldestAgeMilliseconds: 0, overflowedRows: 0, lostThrough: acknowledged)
    }

    func shutdown() async { try? await client.shutdown() }
}

struct FeedBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the bench feeds: tracker events and account states shaped like the agent's own.
enum FeedBenchRecords {
    /// A MetaApi tracker event as the agent's store keeps it (about 420 bytes of JSON).
    static func event(sequence: UInt64, account: String, brokerTime: Int64) -> FeedEvent {
        let time = brokerTimeText(brokerTime)
        let drawdown = 500 + Double(sequence % 997) / 100
        let body = """
            {"sequenceNumber":\(sequence),"brokerTime":"\(time)","accountId":"\(account)","trackerId":"daily-drawdown",\
            "trackerName":"Daily drawdown","period":"day","startBrokerTime":"\(time.prefix(10)) 00:00:00.000",\
            "endBrokerTime":"\(time.prefix(10)) 23:59:59.999","exceededThresholdType":"drawdown",\
            "absoluteDrawdownThreshold":500,"relativeDrawdownThreshold":0.05,"absoluteDrawdown":\(drawdown),\
            "relativeDrawdown":\(drawdown / 10_000),"absoluteProfit":0,"relativeProfit":0}
            """
        return FeedEvent(
            sequence: sequence, kind: "tracker", type: "tracker.exceeded", accountId: account,
            subjectId: "daily-drawdown", brokerTime: brokerTime, body: body)
    }

    /// An account's live figures, moved by `step`.
    static func state(account: String, step: Int, observedAt: Int64) -> FeedAccountState {
        let equity = 100_000 + Double((step * 37) % 20_000) / 100
        return FeedAccountState(
            accountId: account, connected: true, balance: "100000", equity: String(format: "%.2f", equity),
            brokerTime: 1_549_238_400_000 + Int64(step) * 250, observedAt: observedAt)
    }

    /// `YYYY-MM-DD HH:mm:ss.SSS` of Unix milliseconds (broker time is carried the same way).
    static func brokerTimeText(_ milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%03d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int32(milliseconds % 1_000))
    }
}
