import API
import Agent
import Foundation
import Testing

@Suite struct AgentConfigurationTests {
    @Test func fileThenEnvironmentOverlayTheDefaults() throws {
        let json =
            #"{"bridge": "tcp://0.0.0.0:6000", "http": "0.0.0.0:9000", "data": "/srv/tm", "heartbeatMilliseconds": 1000}"#
        var settings = try JSONDecoder().decode(AgentConfiguration.self, from: Data(json.utf8))
        #expect(settings.bridge == "tcp://0.0.0.0:6000")
        #expect(settings.databasePath == "/srv/tm/tidemark.sqlite")  // default: inside the data directory
        #expect(settings.durability == "full")  // untouched default
        try settings.applyEnvironment([
            "TIDEMARK_HTTP": "127.0.0.1:7000", "TIDEMARK_HEARTBEAT_MS": "250",
            "TIDEMARK_DURABILITY": "normal",
        ])
        #expect(settings.http == "127.0.0.1:7000")
        #expect(settings.heartbeatMilliseconds == 250)
        #expect(try settings.httpAddress() == ("127.0.0.1", 7000))
        try settings.validate()
    }

    /// The feed outbox's two retention bounds: rows and age, from the file or the environment, checked.
    @Test func feedRetentionByRowsAndByAgeLoadAndAreChecked() throws {
        var settings = try JSONDecoder().decode(
            AgentConfiguration.self, from: Data(#"{"feedRetentionRows": 5000, "feedRetentionSeconds": 3600}"#.utf8))
        #expect(settings.feedRetentionRows == 5_000 && settings.feedRetentionSeconds == 3_600)
        try settings.validate()
        try settings.applyEnvironment(["TIDEMARK_FEED_RETENTION_SECONDS": "86400"])
        #expect(settings.feedRetentionSeconds == 86_400)
        #expect(AgentConfiguration().feedRetentionSeconds == 604_800)  // seven days by default
        settings.feedRetentionSeconds = 0
        #expect(throws: AgentError.configuration) { try settings.validate() }
        #expect(throws: AgentError.configuration) {
            try settings.applyEnvironment(["TIDEMARK_FEED_RETENTION_SECONDS": "a week"])
        }
    }

    @Test func mistakesAreRefusedWithTheirKey() throws {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(AgentConfiguration.self, from: Data(#"{"heartbeatMs": 1000}"#.utf8))
        }
        var settings = AgentConfiguration()
        #expect(throws: AgentError.configuration) { try settings.applyEnvironment(["TIDEMARK_HEARTBEAT_MS": "fast"]) }
        settings.http = "localhost"
        #expect(throws: AgentError.configuration) { try settings.validate() }
        settings = AgentConfiguration()
        settings.curveSecretKey = "/etc/tidemark/agent.key_secret"
        #expect(throws: AgentError.configuration) { try settings.validate() }  // allowKeys missing
    }

    /// HTTPS and MetaApi discovery settings: from the file or the environment, the certificate
    /// and key together, the region one DNS label.
    @Test func httpsAndDiscoverySettingsLoadAndAreChecked() throws {
        var settings = try JSONDecoder().decode(
            AgentConfiguration.self,
            from: Data(
                #"""
                {"http": "0.0.0.0:443", "tlsCertificate": "/etc/tidemark/tls/server.pem", "tlsKey": "/etc/tidemark/tls/server.key",
                 "apiDomain": "risk.firm.example"}
                """#.utf8))
        #expect(
            settings.tlsCertificate == "/etc/tidemark/tls/server.pem"
                && settings.tlsKey == "/etc/tidemark/tls/server.key")
        #expect(settings.apiDomain == "risk.firm.example" && settings.apiRegion == "tidemark")
        try settings.validate()
        try settings.applyEnvironment([
            "TIDEMARK_TLS_CERT": "/tmp/a.pem", "TIDEMARK_TLS_KEY": "/tmp/a.key",
            "TIDEMARK_API_REGION": "london", "TIDEMARK_API_DOMAIN": "firm.example",
        ])
        #expect(settings.tlsCertificate == "/tmp/a.pem" && settings.tlsKey == "/tmp/a.key")
        #expect(settings.apiRegion == "london" && settings.apiDomain == "firm.example")
        try settings.validate()

        var lonely = AgentConfiguration()
        lonely.tlsCertificate = "/tmp/a.pem"
        #expect(throws: AgentError.configuration) { try lonely.validate() }  // tlsKey missing
        var dotted = AgentConfiguration()
        dotted.apiRegion = "new.york"
        #expect(throws: AgentError.configuration) { try dotted.validate() }
    }

    /// The per-account time settings: 24 h and 10 s by default, from the file or the environment,
    /// refused out of range.
    @Test func timeSettingsLoadAndAreChecked() throws {
        var settings = AgentConfiguration()
        #expect(settings.timeBoundSeconds == 86_400 && settings.wallClockIntervalMilliseconds == 10_000)
        settings = try JSONDecoder().decode(
            AgentConfiguration.self,
            from: Data(#"{"timeBoundSeconds": 3600, "wallClockIntervalMilliseconds": 0}"#.utf8))
        #expect(settings.timeBoundSeconds == 3_600 && settings.wallClockIntervalMilliseconds == 0)
        try settings.applyEnvironment(["TIDEMARK_TIME_BOUND_SECONDS": "7200", "TIDEMARK_WALL_CLOCK_INTERVAL_MS": "500"])
        #expect(settings.timeBoundSeconds == 7_200 && settings.wallClockIntervalMilliseconds == 500)
        try settings.validate()
        for bound in [0, -1, 3_153_600_001, Int.max] {
            settings.timeBoundSeconds = bound
            #expect(throws: AgentError.configuration) { try settings.validate() }
        }
        settings.timeBoundSeconds = 86_400
        settings.wallClockIntervalMilliseconds = -1
        #expect(throws: AgentError.configuration) { try settings.validate() }
    }
}

@Suite struct DeployedConfigurationTests {
    /// deploy/config.example.json is what an install copies to /etc/tidemark: it must load and
    /// validate as it is (the decoder refuses unknown keys, so a renamed setting fails here).
    @Test func theExampleConfigurationLoadsAndValidates() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/config.example.json").path
        let settings = try AgentConfiguration.load(file: example)
        #expect(settings.bridge == "tcp://0.0.0.0:5757")
        #expect(settings.checkpointIntervalMilliseconds == 1_000)
        #expect(settings.allowKeys == "/etc/tidemark/keys/allowed-eas.txt")
        try settings.validate()
    }
}

@Suite struct SecureDefaultsTests {
    @Test func loopbackIsToldFromEveryInterface() throws {
        var settings = AgentConfiguration()
        #expect(!settings.bridgeIsBeyondLoopback)  // tcp://127.0.0.1:5757
        for endpoint in ["tcp://0.0.0.0:5757", "tcp://*:5757", "tcp://10.1.2.3:5757", "tcp://[::]:5757"] {
            settings.bridge = endpoint
            #expect(settings.bridgeIsBeyondLoopback, "\(endpoint)")
        }
        for endpoint in ["tcp://localhost:5757", "tcp://[::1]:5757", "tcp://127.0.0.2:*", "ipc:///run/tidemark.sock"] {
            settings.bridge = endpoint
            #expect(!settings.bridgeIsBeyondLoopback, "\(endpoint)")
        }
        settings.http = ":0"
        #expect(try settings.httpAddress() == ("127.0.0.1", 0))  // an empty host is loopback, not every interface
    }

    @Test func tokenStrengthRefusesWordsAndAcceptsRandomTokens() {
        #expect(TokenStrength.estimatedBits("passwordpassword") < TokenStrength.minimumBits)
        #expect(
            TokenStrength.estimatedBits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < TokenStrength.minimumBits)
        // 16 characters: ~100 bits at best
        #expect(TokenStrength.estimatedBits("Tr0ub4dor&3xyzzy") < TokenStrength.minimumBits)
        // `openssl rand -hex 32`, `… -base64 32` and the agent's own tm_ tokens pass.
        #expect(
            TokenStrength.estimatedBits("3f9c2a7d41e08b56c9d2e4f7a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7")
                >= TokenStrength.minimumBits)
        #expect(TokenStrength.estimatedBits("q8Zp3Jk1V+o7sW2xR9m4Lb6Tn0Yc5Hd8Fg3Ue1Ia7Q=") >= TokenStrength.minimumBits)
        #expect(TokenStrength.estimatedBits("tm_integration_admin_token_0123456789") >= TokenStrength.minimumBits)
    }
}
