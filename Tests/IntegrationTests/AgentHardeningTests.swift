import Foundation
import TestSupport
import Testing
import TidemarkProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The real agent tried as an operator on a bad day and as a hostile client would: bad settings,
/// insecure bindings, damaged files, oversized declarations, idle and half-sent connections.
@Suite("Agent hardening over loopback", .serialized)
struct AgentHardeningTests {
    static let account = "Tidemark-Sim:1000001"

    // MARK: Configuration and start-up errors

    @Test func configurationErrorsNameTheKeyFileOrValueAndExitWithTheirOwnStatus() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory)
        let config = directory.path("config.json")
        try #"{"heartbeatMs": 1000}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let unknown = try await agent.startExpectingRefusal(["--config", config])
        #expect(unknown.status == 78)
        #expect(unknown.errors.contains("unknown setting \"heartbeatMs\""), "\(unknown.errors)")
        #expect(unknown.errors.contains(config))
        #expect(!unknown.errors.contains("USAGE"), "no usage text for a configuration error")

        try #"{"heartbeatMilliseconds": "fast"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let mistyped = try await agent.startExpectingRefusal(["--config", config])
        #expect(mistyped.status == 78)
        #expect(mistyped.errors.contains("\"heartbeatMilliseconds\" must be an integer"), "\(mistyped.errors)")

        try #"{"heartbeatMilliseconds": 1000"#.write(toFile: config, atomically: true, encoding: .utf8)
        let broken = try await agent.startExpectingRefusal(["--config", config])
        #expect(broken.status == 78)
        #expect(broken.errors.contains("not valid JSON") && broken.errors.contains(config), "\(broken.errors)")

        let missing = try await agent.startExpectingRefusal(["--config", directory.path("nowhere.json")])
        #expect(missing.status == 78)
        #expect(missing.errors.contains(directory.path("nowhere.json")), "\(missing.errors)")

        let environment = try await agent.startExpectingRefusal(environment: ["TIDEMARK_HEARTBEAT_MS": "abc"])
        #expect(environment.status == 78)
        #expect(
            environment.errors.contains("TIDEMARK_HEARTBEAT_MS must be an integer, got \"abc\""),
            "\(environment.errors)")
    }

    // MARK: Secure defaults

    @Test func insecureBindingsAndAWeakTokenAreRefusedSayingHowToProceed() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory)
        let plaintext = try await agent.startExpectingRefusal(["--bridge", "tcp://0.0.0.0:*"])
        #expect(plaintext.status == 77)
        #expect(plaintext.errors.contains("tcp://0.0.0.0:*"), "\(plaintext.errors)")
        #expect(plaintext.errors.contains("--allow-plaintext-bridge") && plaintext.errors.contains("tidemark keys"))

        let weak = try await agent.startExpectingRefusal(environment: ["TIDEMARK_ADMIN_TOKEN": "passwordpassword"])
        #expect(weak.status == 77)
        #expect(
            weak.errors.contains("TIDEMARK_ADMIN_TOKEN") && weak.errors.contains("openssl rand -hex 32"),
            "\(weak.errors)")

        // Said explicitly, a plaintext bridge starts (with a warning), and so does HTTP on every
        // interface, warned about at every start.
        let explicit = FullAgent(
            in: directory, name: "explicit",
            extraArguments: ["--bridge", "tcp://0.0.0.0:*", "--allow-plaintext-bridge", "--http", "0.0.0.0:0"])
        try await explicit.start()
        #expect(explicit.bridgeEndpoint?.hasPrefix("tcp://0.0.0.0:") == true)
        await explicit.stop()
        #expect(explicit.log.contains("without CURVE"))
        #expect(explicit.log.contains("without TLS"))
    }

    @Test func anEmptyHTTPHostBindsLoopbackAndAGeneratedTokenGoesToAPrivateFile() async throws {
        let directory = try TemporaryDirectory()
        let data = directory.path("data")
        let process = try Tidemark.start(
            ["agent", "--bridge", "tcp://127.0.0.1:*", "--http", ":0", "--data", data], in: directory)
        defer { process.killIfRunning() }
        try await eventually("the agent prints its HTTP endpoint", deadline: .seconds(60)) {
            process.output.contains("http listening on ") || !process.process.isRunning
        }
        let http = try #require(process.output.split(separator: "\n").first { $0.hasPrefix("http listening on ") })
        #expect(http.hasPrefix("http listening on 127.0.0.1:"), "\(http)")
        let tokenFile = data + "/admin-token"
        #expect(process.output.contains("admin token written to \(tokenFile)"))
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("tm_") && token.count == 67)
        #expect(
            !process.output.contains(token) && !process.errors.contains(token),
            "the secret stays out of stdout and the log")
        let mode = try #require(FileManager.default.attributesOfItem(atPath: tokenFile)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    // MARK: Declarations

    @Test func declarationsAreBoundedWith400s() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory, extraEnvironment: ["TIDEMARK_MAX_TRACKERS_PER_ACCOUNT": "3"])
        try await agent.start()
        let base = "http://\(agent.httpEndpoint!)/users/current"
        let token = agent.adminToken
        let account = Self.account
        #expect(
            try await HTTP.request(
                "POST", base + "/accounts", token: token,
                json: #"{"login": 1000001, "server": "Tidemark-Sim", "platform": "mt5"}"#
            ).status == 201)
        func tracker(_ name: String) async throws -> HTTP.Reply {
            try await HTTP.request(
                "POST", base + "/accounts/\(account)/trackers", token: token,
                json: #"{"name": "\#(name)", "period": "day", "absoluteDrawdownThreshold": 5}"#)
        }

        let huge = try await tracker(String(repeating: "n", count: 100_000))
        #expect(huge.status == 400)
        let details = (huge.json as? [String: Any])?["details"] as? [[String: Any]]
        #expect(details?.first?["parameter"] as? String == "name", "\(huge.text.prefix(300))")
        #expect(huge.text.contains("at most 256 characters"))
        #expect(try await tracker(String(repeating: "n", count: 256)).status == 201)

        // The cap (3 here) holds; deleting one makes room.
        var ids: [String] = []
        for index in 1...2 {
            let created = try await tracker("t\(index)")
            #expect(created.status == 201)
            ids.append(try #require((created.json as? [String: Any])?["id"] as? String))
        }
        let fourth = try await tracker("t3")
        #expect(fourth.status == 400)
        #expect(fourth.text.contains("maximumTrackersPerAccount"), "\(fourth.text)")
        #expect(
            try await HTTP.request("DELETE", base + "/accounts/\(account)/trackers/\(ids[0])", token: token).status
                == 204)
        #expect(try await tracker("t3").status == 201)
        let listed = try await HTTP.request("GET", base + "/accounts/\(account)/trackers", token: token)
        #expect((listed.json as? [Any])?.count == 3)

        // A challenge definition over 64 KiB (a long description) is refused whole.
        let description = String(repeating: "d", count: 70_000)
        let challenge = try await HTTP.request(
            "POST", base + "/accounts/\(account)/challenges", token: token,
            json: """
                {"id": "big", "description": "\(description)", "initialCapital": 10000, "startBrokerTime": "2019-02-04 00:00:00.000",
                 "phases": [{"name": "evaluation", "rules": {"maxLoss": {"limit": {"amount": 100}}}}]}
                """)
        #expect(challenge.status == 400)
        #expect(challenge.text.contains("At most 65536 bytes"), "\(challenge.text.prefix(300))")

        // A definition the decoder refuses is named in plain words, not Swift's DecodingError text.
        let mistyped = try await HTTP.request(
            "POST", base + "/accounts/\(account)/challenges", token: token,
            json: """
                {"id": "typed", "initialCapital": 10000, "startBrokerTime": "2019-02-04 00:00:00.000",
                 "phases": [{"name": 5, "rules": {"maxLoss": {"limit": {"amount": 100}}}}]}
                """)
        #expect(mistyped.status == 400)
        let mistypedDetail = ((mistyped.json as? [String: Any])?["details"] as? [[String: Any]])?.first
        #expect(mistypedDetail?["parameter"] as? String == "phases[0].name", "\(mistyped.text)")
        #expect(mistypedDetail?["message"] as? String == "Expected a string", "\(mistyped.text)")
        #expect(!mistyped.text.contains("CodingKeys") && !mistyped.text.contains("typeMismatch"))
        await agent.stop()
    }

    // MARK: Store integrity

    /// Starts and stops an agent so that its store and checkpoint file exist.
    private static func agentWithAStore(in directory: TemporaryDirectory, name: String) async throws -> FullAgent {
        let agent = FullAgent(in: directory, name: name)
        try await agent.start()
        // A few pages of content, so that damage can land in the middle of the file.
        for index in 0..<40 {
            let registered = try await HTTP.request(
                "POST", "http://\(agent.httpEndpoint!)/users/current/accounts", token: agent.adminToken,
                json:
                    #"{"login": \#(2_000_000 + index), "server": "Integrity-\#(String(repeating: "x", count: 100))", "platform": "mt5"}"#
            )
            #expect(registered.status == 201)
        }
        // A graceful stop folds the write-ahead log into the file: the file holds everything and
        // the log can go (damage in the file is then not masked by it).
        #expect(await agent.stop() == 0)
        for suffix in ["-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: agent.dataDirectory + "/tidemark.sqlite" + suffix)
        }
        return agent
    }

    @Test func aTruncatedOrGarbageFilledStoreIsRefusedNamingTheFile() async throws {
        let directory = try TemporaryDirectory()
        let truncated = try await Self.agentWithAStore(in: directory, name: "truncated")
        let store = truncated.dataDirectory + "/tidemark.sqlite"
        try Data().write(to: URL(fileURLWithPath: store))
        let refusedEmpty = try await truncated.startExpectingRefusal()
        #expect(refusedEmpty.status == 65)
        #expect(
            refusedEmpty.errors.contains("\(store) is empty (0 bytes)")
                && refusedEmpty.errors.contains("Restore it from a backup"),
            "\(refusedEmpty.errors)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store)).isEmpty, "the refused store is left as it was")

        let garbled = try await Self.agentWithAStore(in: directory, name: "garbled")
        let garbledStore = garbled.dataDirectory + "/tidemark.sqlite"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: garbledStore))
        #expect(bytes.count >= 6 * 4_096)
        // Seeded, so that a failure repeats with the same bytes.
        var generator = SplitMix64(seed: 0x7EA5_0001)
        // Pages 2 and beyond (the header page stays intact: SQLite opens the file, the check finds the damage).
        for index in 4_096..<bytes.count { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        try bytes.write(to: URL(fileURLWithPath: garbledStore))
        let refusedGarbage = try await garbled.startExpectingRefusal()
        #expect(refusedGarbage.status == 65)
        #expect(
            refusedGarbage.errors.contains(garbledStore) && refusedGarbage.errors.contains("Restore it from a backup"),
            "\(refusedGarbage.errors)")
        print("garbage in the pages: \(refusedGarbage.errors)")

        // All garbage: not a database at all.
        try Data((0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(
            to: URL(fileURLWithPath: garbledStore))
        let notADatabase = try await garbled.startExpectingRefusal()
        #expect(notADatabase.status == 65)
        #expect(notADatabase.errors.contains("\(garbledStore) is damaged"), "\(notADatabase.errors)")
    }

    @Test func aDamagedCheckpointFallsBackAndAForeignOneIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let first = try await Self.agentWithAStore(in: directory, name: "first")
        let second = try await Self.agentWithAStore(in: directory, name: "second")
        let checkpoint = first.dataDirectory + "/tidemark.checkpoint.sqlite"

        // Another store's checkpoint file: refused, naming both ways forward.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: checkpoint + suffix) }
        try FileManager.default.copyItem(
            atPath: second.dataDirectory + "/tidemark.checkpoint.sqlite", toPath: checkpoint)
        let foreign = try await first.startExpectingRefusal()
        #expect(foreign.status == 65)
        #expect(
            foreign.errors.contains(checkpoint) && foreign.errors.contains("--rebuild-checkpoint"), "\(foreign.errors)")
        let rebuilt = FullAgent(in: directory, name: "first", extraArguments: ["--rebuild-checkpoint"])
        try await rebuilt.start()
        #expect(await rebuilt.stop() == 0)
        #expect(rebuilt.log.contains("set aside (--rebuild-checkpoint)"))

        // A garbage checkpoint file: set aside with a warning naming it; the agent starts on the store's own.
        try Data(repeating: 0x5A, count: 8_192).write(to: URL(fileURLWithPath: checkpoint))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: checkpoint + suffix) }
        let resumed = FullAgent(in: directory, name: "first")
        try await resumed.start()
        let accounts = try await HTTP.request(
            "GET", "http://\(resumed.httpEndpoint!)/users/current/accounts?limit=100",
            token: resumed.adminToken)
        #expect((accounts.json as? [Any])?.count == 40, "the store's data is all there")
        #expect(await resumed.stop() == 0)
        #expect(resumed.log.contains("checkpoint file \(checkpoint) is damaged"), "\(resumed.log)")
        let setAside = try FileManager.default.contentsOfDirectory(atPath: first.dataDirectory).filter {
            $0.contains(".damaged-")
        }
        #expect(!setAside.isEmpty)
    }

    // MARK: HTTP limits

    @Test func idleAndHalfSentConnectionsAreClosedWhileHealthAnswers() async throws {
        Sockets.raiseDescriptorLimit(to: 8_192)
        let directory = try TemporaryDirectory()
        let agent = FullAgent(
            in: directory,
            extraEnvironment: [
                "TIDEMARK_HTTP_IDLE_TIMEOUT_SECONDS": "3",
                "TIDEMARK_HTTP_HEADER_TIMEOUT_SECONDS": "3",
                "TIDEMARK_HTTP_BODY_TIMEOUT_SECONDS": "3",
            ])
        try await agent.start()
        let endpoint = agent.httpEndpoint!
        let port = try #require(UInt16(endpoint.split(separator: ":").last ?? ""))

        let start = Date()
        var idle: [Int32] = []
        for _ in 0..<2_000 { idle.append(try Sockets.connect(port: port)) }
        var halfSent: [Int32] = []
        for _ in 0..<200 {
            let socket = try Sockets.connect(port: port)
            Sockets.send(socket, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            halfSent.append(socket)
        }
        // Bodies announced and never finished.
        var halfBodies: [Int32] = []
        for _ in 0..<20 {
            let socket = try Sockets.connect(port: port)
            Sockets.send(
                socket,
                "POST /users/current/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"login\""
            )
            halfBodies.append(socket)
        }
        // A kept-alive connection that asked once and then fell silent.
        let keptAlive = try Sockets.connect(port: port)
        Sockets.send(keptAlive, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let opened = Date().timeIntervalSince(start)

        // /health answers in under 2 s throughout, while the server holds 2,221 connections and
        // until it has closed them.
        var slowest = 0.0
        var all = idle + halfSent + halfBodies + [keptAlive]
        let deadline = Date().addingTimeInterval(3 + 10)
        while !all.isEmpty, Date() < deadline {
            let asked = Date()
            let health = try await HTTP.request("GET", "http://\(endpoint)/health", timeout: 10)
            slowest = max(slowest, Date().timeIntervalSince(asked))
            #expect(health.status == 200)
            all = all.filter { !Sockets.isClosedByPeer($0) }
            try await Task.sleep(for: .milliseconds(200))
        }
        let closedAfter = Date().timeIntervalSince(start)
        #expect(all.isEmpty, "\(all.count) connections still open \(closedAfter) s after they were opened")
        #expect(slowest < 2, "slowest /health: \(slowest) s")
        for socket in idle + halfSent + halfBodies + [keptAlive] { close(socket) }
        let metrics = try await HTTP.request("GET", "http://\(endpoint)/metrics").text
        for phase in ["header", "body", "idle"] {
            #expect(metrics.contains(#"tidemark_http_connections_timed_out_total{phase="\#(phase)"}"#), "\(metrics)")
        }
        print(
            "2,221 connections opened in \(opened) s, all closed by the server \(closedAfter) s after the first; slowest /health \(slowest) s"
        )
        await agent.stop()
    }

    @Test func beyondTheConnectionLimitOnlyHealthChecksAreServed() async throws {
        let directory = try TemporaryDirectory()
        let agent = FullAgent(in: directory, extraEnvironment: ["TIDEMARK_HTTP_MAX_CONNECTIONS": "20"])
        try await agent.start()
        let endpoint = agent.httpEndpoint!
        let port = try #require(UInt16(endpoint.split(separator: ":").last ?? ""))
        var held: [Int32] = []
        for _ in 0..<19 { held.append(try Sockets.connect(port: port)) }
        // The 20th held connection asks for /metrics (kept alive) until the agent counts all 20 open.
        let counting = try Sockets.connect(port: port)
        held.append(counting)
        try await eventually("20 connections counted", deadline: .seconds(20), interval: .milliseconds(20)) {
            let reply = Sockets.exchange(counting, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return reply.split(separator: "\n").contains { line in
                line.hasPrefix("tidemark_http_connections ")
                    && Double(line.dropFirst("tidemark_http_connections ".count)) == 20
            }
        }

        let health = try Sockets.connect(port: port)
        Sockets.send(health, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let healthReply = Sockets.receive(health)
        #expect(healthReply.hasPrefix("HTTP/1.1 200"), "\(healthReply)")
        let other = try Sockets.connect(port: port)
        Sockets.send(other, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let otherReply = Sockets.receive(other)
        #expect(otherReply.hasPrefix("HTTP/1.1 503"), "\(otherReply)")
        // The bridge is not touched by the HTTP limit: a terminal streams as usual.
        let recording = try await AgentRecordings.eurusdSlice(ticks: 200, batch: 10, in: directory)
        let run = try await Tidemark.run(["simulate", "--connect", agent.bridgeEndpoint!, recording], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        for socket in held + [health, other] { close(socket) }
        // The agent sees the held connections close, and /metrics is served again.
        var metrics = ""
        try await eventually("/metrics served again", deadline: .seconds(20), interval: .milliseconds(50)) {
            let reply = try await HTTP.request("GET", "http://\(endpoint)/metrics")
            metrics = reply.text
            return reply.status == 200
        }
        #expect(metrics.contains("tidemark_http_connections_refused_total 1"), "\(metrics)")
        #expect(metrics.contains("tidemark_ticks_total 200"), "\(metrics)")
        await agent.stop()
    }
}

/// Raw TCP sockets to the agent's HTTP port (URLSession would pool and retry).
enum Sockets {
    static func raiseDescriptorLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = min(max(limit.rlim_cur, rlim_t(wanted)), limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func connect(port: UInt16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HarnessError("connect: \(reason)")
        }
        return descriptor
    }

    static func send(_ descriptor: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL))
    }

    /// Whether the server closed the connection (EOF or reset), without waiting; what it sent
    /// before is read and dropped.
    static func isClosedByPeer(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 { return true }
            if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    /// Sends `request` and reads one response on a kept-alive connection: the head, then as many
    /// body bytes as its `Content-Length` says (5 s at most).
    static func exchange(_ descriptor: Int32, _ request: String) -> String {
        send(descriptor, request)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let length =
                    text[..<headEnd.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[headEnd.upperBound...].utf8.count >= length { return text }
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return text }
            received += buffer[0..<count]
        }
    }

    /// What the server sends until it closes the connection (5 s at most).
    static func receive(_ descriptor: Int32) -> String {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
