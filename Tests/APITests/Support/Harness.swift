import EquityEngine
import Foundation
import Hummingbird
import HummingbirdTesting
import OpenAPICheck
import RiskCore
import Store
import StoreBackedAPI
import Synchronization
import Testing
import TidemarkProtocol

@testable import API

let adminSecret = "admin-secret-for-tests-only"
let accountA = AccountID("Demo-Server:1001")
let accountB = AccountID("Demo-Server:1002")

/// `"2024-03-04 10:00"` → broker time (traps on a typo: tests only).
func at(_ text: String) -> BrokerTime {
    guard let time = BrokerTime(formatted: text) else { preconditionFailure("bad time \(text)") }
    return time
}

/// An observation input: balance and equity at a time (no credit).
func observation(
    _ time: String, balance: FixedDecimal, equity: FixedDecimal, account: AccountID = accountA
) -> RiskInput {
    .observation(
        EquityObservation(
            account: account, time: at(time), balance: balance, credit: .zero,
            equity: equity, floating: equity - balance))
}

/// A response, with its body decoded when it is JSON.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPFields
    var body: Data
    var json: JSONValue? { try? JSONValue.parse(body) }
    var text: String { String(decoding: body, as: UTF8.self) }

    /// `body[key]` of an object body.
    subscript(key: String) -> JSONValue? { json?.objectValue?[key] }
    /// The elements of an array body.
    var array: [JSONValue] { if case .array(let items)? = json { items } else { [] } }
    /// The `parameter`s of a validation error's details.
    var detailParameters: Set<String> {
        guard case .array(let details)? = self["details"] else { return [] }
        return Set(details.compactMap { $0.objectValue?["parameter"]?.stringValue })
    }
}

/// An API over the in-memory agent, and a client that checks every response against
/// protocol/openapi.json and records which documented operations it reached.
final class Harness: Sendable {
    let notifier = EventNotifier()
    let equity = EquityBroadcaster()
    let risk: InMemoryRisk
    let tokens: any TokenAuthority
    let api: TidemarkAPI
    let covered = Mutex<Set<String>>([])
    /// The temporary database of a store-backed harness, removed with it.
    let databasePath: String?

    /// `storeBacked`: the API reads through ``StoreReadModel`` from a real SQLite store (in a
    /// temporary file) that the in-memory agent commits to; otherwise from the agent's memory.
    init(
        longPollTimeout: Duration = .milliseconds(300), keepAlive: Duration = .seconds(30), storeBacked: Bool = false,
        maxOpenWaitsPerToken: Int = 32
    ) {
        let configuration = APIConfiguration(
            longPollTimeout: longPollTimeout, streamKeepAliveInterval: keepAlive,
            maxOpenWaitsPerToken: maxOpenWaitsPerToken)
        if storeBacked {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                "apitests-\(UUID().uuidString).sqlite"
            ).path
            let store = try! Store(path: path, options: Store.Options(durability: .normal))
            databasePath = path
            risk = InMemoryRisk(notifier: notifier, equity: equity, store: store)
            var templates: [String: JSONBody] = [:]
            let folder = InMemoryRisk.repositoryRoot.appendingPathComponent("deploy/challenge-templates")
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            where file.hasSuffix(".json") {
                templates[String(file.dropLast(5))] = try? JSONBody(
                    Data(contentsOf: folder.appendingPathComponent(file)))
            }
            tokens = StoreTokenAuthority(store: store)
            api = TidemarkAPI(
                readModel: StoreReadModel(store: store, live: risk, templates: templates), control: risk,
                tokens: tokens,
                webhooks: StoreWebhookRegistry(store: store), notifier: notifier, equity: equity,
                configuration: configuration,
                terminalKeys: InMemoryTerminalKeys())
        } else {
            databasePath = nil
            tokens = InMemoryTokenAuthority(adminSecret: adminSecret)
            risk = InMemoryRisk(notifier: notifier, equity: equity)
            api = TidemarkAPI(
                readModel: risk, control: risk, tokens: tokens, webhooks: InMemoryWebhookRegistry(),
                notifier: notifier, equity: equity,
                configuration: configuration, terminalKeys: InMemoryTerminalKeys())
        }
    }

    deinit {
        try? risk.store?.close()
        if let databasePath {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
        }
    }

    /// Runs `body` with a router-level test client (no sockets).
    func run(_ body: @Sendable (Client) async throws -> Void) async throws {
        if let store = risk.store, try await store.tokens().isEmpty {
            _ = try await store.createToken(name: "admin", isAdmin: true, secret: adminSecret, at: Date())
        }
        let app = Application(router: api.makeRouter())
        try await app.test(.router) { client in try await body(Client(harness: self, client: client)) }
    }

    struct Client: Sendable {
        let harness: Harness
        let client: any TestClientProtocol

        /// Sends a request with the admin token unless another (or none: `token: nil`) is given.
        @discardableResult
        func send(
            _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = adminSecret,
            headers extra: HTTPFields = [:], sourceLocation: SourceLocation = #_sourceLocation
        ) async throws -> Reply {
            var headers = extra
            if let token { headers[HeaderName("auth-token")!] = token }
            if json != nil { headers[.contentType] = "application/json" }
            let response = try await client.executeRequest(
                uri: uri, method: method, headers: headers,
                body: json.map { ByteBuffer(string: $0) })
            let reply = Reply(
                status: Int(response.status.code), headers: response.headers,
                body: Data(response.body.readableBytesView))
            let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
            if let template = Self.template(for: path) {
                harness.covered.withLock { _ = $0.insert("\(method.rawValue) \(template)") }
                let problems = OpenAPIChecker.shared.problems(
                    method: method.rawValue, template: template, status: reply.status,
                    contentType: reply.headers[.contentType], body: reply.body)
                #expect(
                    problems == [], "response does not conform to protocol/openapi.json", sourceLocation: sourceLocation
                )
            } else if reply.status != 404 {
                Issue.record(
                    "\(method.rawValue) \(path) is not in protocol/openapi.json", sourceLocation: sourceLocation)
            }
            return reply
        }

        /// The documented path a concrete path matches (the one with the most literal segments).
        static func template(for path: String) -> String? {
            let segments = path.split(separator: "/", omittingEmptySubsequences: true)
            var best: (template: String, literals: Int)?
            for template in OpenAPIChecker.shared.operations.map({ String($0.split(separator: " ")[1]) }) {
                let parts = template.split(separator: "/", omittingEmptySubsequences: true)
                guard parts.count == segments.count else { continue }
                var literals = 0
                var matches = true
                for (part, segment) in zip(parts, segments) {
                    if part.hasPrefix("{") { continue }
                    if part == segment {
                        literals += 1
                    } else {
                        matches = false
                        break
                    }
                }
                if matches, literals > best?.literals ?? -1 { best = (template, literals) }
            }
            return best?.template
        }
    }
}

/// A percent-encoded path segment (account ids contain ':'; names may contain anything).
func encoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.:"))) ?? text
}
