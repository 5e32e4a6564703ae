import Foundation
import TestSupport
import Testing

/// MetaApi's own Python SDK (`metaapi-cloud-sdk`, pinned in scripts/setup, unpatched) against the
/// real agent over HTTPS, with only its `domain` option changed: discovery, tracker CRUD, events by
/// broker time, the tracker event listener receiving a live breach, period statistics and the
/// equity chart. The harness points the SDK's host names at the agent's loopback port and trusts a
/// CA made here by openssl (Tests/MetaApiSDK/risk_management_client.py says how).
@Suite("MetaApi's Python SDK against the agent", .serialized)
struct MetaApiSDKTests {
    static let domain = "risk.firm.test"
    static let region = "tidemark"
    static let account = "Tidemark-Sim:1000001"

    /// The venv scripts/setup makes.
    static let python = Tidemark.packageRoot.appendingPathComponent(".venv-sdk/bin/python").path
    static let client = Tidemark.packageRoot.appendingPathComponent("Tests/MetaApiSDK/risk_management_client.py").path

    @Test func riskManagementClientRunsUnchangedOverHTTPS() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "the SDK's virtual environment is missing: run scripts/setup (it makes .venv-sdk)")
        let directory = try TemporaryDirectory()
        let certificates = try await TestCertificates(
            in: directory,
            hosts: [
                "mt-provisioning-api-v1.\(Self.domain)",
                "risk-management-api-v1.\(Self.region).\(Self.domain)",
            ])
        // The SDK always connects to port 443 (its URLs name no port), so the agent serves HTTPS on
        // 443 of a loopback address of its own: binding it needs root (CI runs as root) or
        // CAP_NET_BIND_SERVICE; the address keeps parallel runs apart.
        let address = "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
        let agent = FullAgent(
            in: directory,
            extraArguments: [
                "--http", "\(address):443", "--tls-cert", certificates.serverCertificate,
                "--tls-key", certificates.serverKey,
            ])
        do { try await agent.start() } catch {
            Issue.record(
                "the agent did not serve HTTPS on \(address):443 (user id \(getuid()); binding port 443 needs root or CAP_NET_BIND_SERVICE): \(error)"
            )
            return
        }
        defer { agent.killIfRunning() }
        #expect(agent.httpEndpoint == "\(address):443")

        let sdk = try Tidemark.Running.start(
            Self.python, [Self.client], label: "sdk", in: directory,
            environment: [
                "TIDEMARK_SDK_DOMAIN": Self.domain, "TIDEMARK_SDK_REGION": Self.region, "TIDEMARK_SDK_ADDRESS": address,
                "TIDEMARK_SDK_TOKEN": agent.adminToken, "TIDEMARK_SDK_ACCOUNT": Self.account,
                "SSL_CERT_FILE": certificates.authority, "PYTHONUNBUFFERED": "1",
                // The SDK reaches the agent directly, never through a proxy the environment names.
                "NO_PROXY": "*", "no_proxy": "*",
            ], workingDirectory: directory.url)
        defer { sdk.killIfRunning() }
        // The listener waits (a long poll) before any tick reaches the agent: the breach is live.
        let listening = try #require(
            await sdk.waitForLine(timeout: 120) { $0["step"] as? String != nil },
            "the SDK printed nothing: \(sdk.errors)")
        try #require(listening["step"] as? String == "listening", "\(listening) \(sdk.errors)")

        // Selling 2 lots at 02:05 as the price rises: 10 USD down at once, beyond the threshold of 5.
        let recording = try await AgentRecordings.eurusdSlice(
            ticks: 1_000, batch: 5, script: AgentRecordings.losingScript, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")

        #expect(await sdk.waitUntilExit(timeout: 120), "the SDK program did not finish")
        let done = try #require(sdk.lines.last, "no result: \(sdk.output) \(sdk.errors)")
        try #require(done["step"] as? String == "done", "\(done) \(sdk.errors)\nagent: \(agent.log)")

        // Discovery: both of the SDK's hosts were asked for, and nothing else resolved.
        #expect(
            done["resolvedHosts"] as? [String] == [
                "mt-provisioning-api-v1.\(Self.domain)",
                "risk-management-api-v1.\(Self.region).\(Self.domain)",
            ])
        // Create, list, find by name, rename, delete.
        let created = try #require(done["created"] as? [[String: Any]])
        let trackerId = try #require(created.first?["id"] as? String)
        #expect(done["listed"] as? [String] == ["drawdown 5", "profit 5"])
        #expect(done["byName"] as? String == trackerId)
        #expect(done["renamed"] as? String == "drawdown five")
        #expect(done["deleted"] as? String == "not found")
        #expect(done["afterDelete"] as? [String] == [trackerId])

        // The listener's live breach and the same event by broker time (sent as `+`-encoded spaces).
        let event = try #require(done["event"] as? [String: Any], "\(done)")
        #expect(event["trackerId"] as? String == trackerId)
        #expect(event["accountId"] as? String == Self.account)
        #expect(event["exceededThresholdType"] as? String == "drawdown")
        #expect((done["listenerErrors"] as? [String])?.isEmpty == true, "\(done["listenerErrors"] ?? "")")
        let byTime = try #require(done["eventsByBrokerTime"] as? [[String: Any]])
        #expect(byTime.count == 1)
        #expect(byTime.first?["sequenceNumber"] as? Int == event["sequenceNumber"] as? Int)

        // Statistics of the open lifetime period: at 02:05:00 2 lots sold at the bid 1.14534 are
        // valued at the ask 1.14539: (1.14534 − 1.14539) × 200,000 = −10 USD.
        let statistics = try #require(done["statistics"] as? [[String: Any]])
        #expect(statistics.first?["period"] as? String == "lifetime")
        #expect(statistics.first?["maxAbsoluteDrawdown"] as? Double == 10)
        #expect(statistics.first?["thresholdExceeded"] as? Bool == true)
        #expect(done["statisticsBefore"] is [Any])

        // The equity chart's open hour carries what the SDK's chart stream reads, and its
        // averages are the sums over the duration.
        let chart = try #require(done["chart"] as? [[String: Any]])
        let hour = try #require(chart.last)
        #expect(hour["startBrokerTime"] as? String == "2019-02-04 02:00:00.000")
        let duration = try #require(hour["duration"] as? Double)
        let equitySum = try #require(hour["equitySum"] as? Double)
        let balanceSum = try #require(hour["balanceSum"] as? Double)
        #expect((hour["brokerTime"] as? String)?.hasPrefix("2019-02-04 02:") == true)
        #expect(duration > 0)
        let averageEquity = try #require(hour["averageEquity"] as? Double)
        let averageBalance = try #require(hour["averageBalance"] as? Double)
        #expect(abs(equitySum / duration - averageEquity) < 0.000_001)
        #expect(abs(balanceSum / duration - averageBalance) < 0.000_001)
    }
}

extension MetaApiSDKTests {
    /// A certificate or key the agent cannot use stops it at start (status 78, naming the file),
    /// not at the first handshake.
    @Test func unusableCertificatesStopTheAgentAtStart() async throws {
        let directory = try TemporaryDirectory()
        let certificates = try await TestCertificates(in: directory, hosts: ["agent.firm.test"])
        let other = try await TestCertificates(in: directory, hosts: ["other.firm.test"], prefix: "other-")
        let agent = FullAgent(in: directory)
        let missing = try await agent.startExpectingRefusal([
            "--tls-cert", directory.path("nowhere.pem"), "--tls-key", certificates.serverKey,
        ])
        #expect(missing.status == 78)
        #expect(missing.errors.contains("tlsCertificate \(directory.path("nowhere.pem"))"), "\(missing.errors)")
        let mismatched = try await agent.startExpectingRefusal([
            "--tls-cert", certificates.serverCertificate, "--tls-key", other.serverKey,
        ])
        #expect(mismatched.status == 78, "\(mismatched.errors)")
        let alone = try await agent.startExpectingRefusal(["--tls-cert", certificates.serverCertificate])
        #expect(alone.status == 78)
        #expect(alone.errors.contains("tlsCertificate and tlsKey go together"), "\(alone.errors)")
    }

    /// HTTP beyond loopback is warned about only while it is plaintext: served over TLS it is not.
    @Test func httpsBeyondLoopbackStartsWithoutThePlaintextWarning() async throws {
        let directory = try TemporaryDirectory()
        let certificates = try await TestCertificates(in: directory, hosts: ["agent.firm.test"])
        let agent = FullAgent(
            in: directory,
            extraArguments: [
                "--http", "0.0.0.0:0", "--tls-cert", certificates.serverCertificate,
                "--tls-key", certificates.serverKey,
            ])
        try await agent.start()
        #expect(agent.httpEndpoint?.hasPrefix("0.0.0.0:") == true)
        await agent.stop()
        #expect(!agent.log.contains("without TLS"), "\(agent.log)")
    }
}

/// A test CA and a server certificate for `hosts`, made by openssl in the test's directory.
struct TestCertificates {
    let authority: String
    let serverCertificate: String
    let serverKey: String

    init(in directory: TemporaryDirectory, hosts: [String], prefix: String = "") async throws {
        authority = directory.path("\(prefix)test-ca.pem")
        serverCertificate = directory.path("\(prefix)server.pem")
        serverKey = directory.path("\(prefix)server.key")
        let authorityKey = directory.path("\(prefix)test-ca.key")
        let request = directory.path("\(prefix)server.csr")
        let extensions = directory.path("\(prefix)server.ext")
        try """
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = \(hosts.map { "DNS:\($0)" }.joined(separator: ", "))
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await Self.openssl(
            ["req", "-x509"] + ec + [
                "-keyout", authorityKey, "-out", authority, "-days", "2",
                "-subj", "/CN=Tidemark test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ], in: directory)
        try await Self.openssl(
            ["req"] + ec + ["-keyout", serverKey, "-out", request, "-subj", "/CN=\(hosts[0])"], in: directory)
        try await Self.openssl(
            [
                "x509", "-req", "-in", request, "-CA", authority, "-CAkey", authorityKey, "-CAcreateserial",
                "-out", serverCertificate, "-days", "2", "-extfile", extensions,
            ], in: directory)
    }

    private static func openssl(_ arguments: [String], in directory: TemporaryDirectory) async throws {
        let program = try Tidemark.Running.start(
            "/usr/bin/env", ["openssl"] + arguments, label: "openssl", in: directory, workingDirectory: directory.url)
        guard await program.waitUntilExit(timeout: 60), program.process.terminationStatus == 0 else {
            await program.stop()
            throw HarnessError("openssl \(arguments.joined(separator: " ")) failed: \(program.errors)")
        }
    }
}

extension Tidemark.Running {
    /// The output's lines that are JSON objects.
    var lines: [[String: Any]] {
        output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The first JSON line matching `matches`, waiting up to `timeout` seconds (nil if none by
    /// then, or if the program ended without one).
    func waitForLine(timeout: Double, where matches: ([String: Any]) -> Bool) async -> [String: Any]? {
        var found: [String: Any]?
        try? await eventually("a JSON line", deadline: .seconds(timeout), interval: .milliseconds(20)) {
            found = lines.first(where: matches)
            return found != nil || !process.isRunning
        }
        return found
    }
}
