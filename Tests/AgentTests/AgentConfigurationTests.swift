import Agent
import Foundation
import Testing

@Suite struct AgentConfigurationTests {
    @Test func fileThenEnvironmentOverlayTheDefaults() throws {
        let json = #"{"bridge": "tcp://0.0.0.0:6000", "http": "0.0.0.0:9000", "data": "/srv/tm", "heartbeatMilliseconds": 1000}"#
        var settings = try JSONDecoder().decode(AgentConfiguration.self, from: Data(json.utf8))
        #expect(settings.bridge == "tcp://0.0.0.0:6000")
        #expect(settings.databasePath == "/srv/tm/tidemark.sqlite")   // default: inside the data directory
        #expect(settings.durability == "full")                          // untouched default
        try settings.applyEnvironment(["TIDEMARK_HTTP": "127.0.0.1:7000", "TIDEMARK_HEARTBEAT_MS": "250",
                                       "TIDEMARK_DURABILITY": "normal"])
        #expect(settings.http == "127.0.0.1:7000")
        #expect(settings.heartbeatMilliseconds == 250)
        #expect(try settings.httpAddress() == ("127.0.0.1", 7000))
        try settings.validate()
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
        #expect(throws: AgentError.configuration) { try settings.validate() }   // allowKeys missing
    }

    /// The per-account time settings: 24 h and 10 s by default, from the file or the environment,
    /// refused out of range.
    @Test func timeSettingsLoadAndAreChecked() throws {
        var settings = AgentConfiguration()
        #expect(settings.timeBoundSeconds == 86_400 && settings.wallClockIntervalMilliseconds == 10_000)
        settings = try JSONDecoder().decode(AgentConfiguration.self,
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
