import Foundation
import TestSupport
import Testing

/// The deploy/ scripts and unit, run for real (in temporary directories, never on the host's /).
@Suite("Deploy files")
struct DeployTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy")
    static let systemdAnalyze = "/usr/bin/systemd-analyze"
    /// The `tidemark` executable built beside the test bundle.
    static let tidemark = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("tidemark").path

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs `executable` to the end, at most 60 s (then it is killed and the test fails). Its
    /// output goes to a file, so that a full pipe can never stop it.
    static func run(_ executable: String, _ arguments: [String]) throws -> Run {
        let directory = try TemporaryDirectory()
        let outputPath = directory.path("output")
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try process.waitUntilExitBlocking(deadline: .seconds(60))
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Run(status: process.terminationStatus, output: text)
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test(
        "systemd accepts each unit: no unknown directive, no bad value",
        arguments: [
            ("tidemark.service", "agent --config /etc/tidemark/config.json"),
            ("tidemark-dashboard.service", "dashboard --config /etc/tidemark/dashboard.json"),
        ])
    func unitVerifies(unitName: String, command: String) throws {
        // systemd (and so systemd-analyze) is part of every Debian host this agent is deployed on.
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.systemdAnalyze),
            "needs \(Self.systemdAnalyze) (Debian's systemd package)")
        let directory = try TemporaryDirectory()
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent(unitName), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/tidemark \(command)"))
        // verify also checks that ExecStart exists; point it at a binary this host has.
        let copy = directory.url.appendingPathComponent(unitName)
        try unit.replacingOccurrences(of: "ExecStart=/usr/bin/tidemark", with: "ExecStart=/bin/true")
            .write(to: copy, atomically: true, encoding: .utf8)
        let result = try Self.run(Self.systemdAnalyze, ["verify", copy.path])
        #expect(result.status == 0)
        // Unknown keys are only warnings (exit 0): any output is a failure here.
        #expect(result.output.isEmpty, "\(result.output)")
    }

    @Test("install.sh lays out a root, and a second run (an upgrade) keeps config and env")
    func installTwice() throws {
        let directory = try TemporaryDirectory()
        let root = directory.url.appendingPathComponent("root").path
        let binary = directory.url.appendingPathComponent("tidemark").path
        try "#!/bin/sh\necho v1\n".write(toFile: binary, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        let script = Self.deploy.appendingPathComponent("install.sh").path

        let first = try Self.run("/bin/sh", [script, "--root", root, "--binary", binary])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("Next steps"))
        #expect(try String(contentsOfFile: root + "/usr/local/bin/tidemark", encoding: .utf8) == "#!/bin/sh\necho v1\n")
        let unit = try String(contentsOfFile: root + "/etc/systemd/system/tidemark.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/tidemark agent --config /etc/tidemark/config.json"))
        #expect(
            try Self.mode(root + "/etc/tidemark/env") == 0o600, "root only: systemd reads it before dropping privileges"
        )
        #expect(try Self.mode(root + "/etc/tidemark/config.json") == 0o640)
        #expect(try Self.mode(root + "/var/lib/tidemark") == 0o750)
        #expect(try Self.mode(root + "/etc/tidemark/keys") == 0o750)
        let env = try String(contentsOfFile: root + "/etc/tidemark/env", encoding: .utf8)
        // tm_ + 64 hex digits (32 random bytes), written to the file and not to the output.
        let tokenLine = try #require(env.split(separator: "\n").first { $0.hasPrefix("TIDEMARK_ADMIN_TOKEN=tm_") })
        #expect(tokenLine.count == 21 + 3 + 64)
        #expect(!first.output.contains(tokenLine.dropFirst("TIDEMARK_ADMIN_TOKEN=".count)))

        try "{\"edited\": true}\n".write(toFile: root + "/etc/tidemark/config.json", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho v2\n".write(toFile: binary, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        let second = try Self.run("/bin/sh", [script, "--root", root, "--binary", binary])
        #expect(second.status == 0, "\(second.output)")
        #expect(!second.output.contains("Next steps"))
        #expect(try String(contentsOfFile: root + "/usr/local/bin/tidemark", encoding: .utf8) == "#!/bin/sh\necho v2\n")
        #expect(
            try String(contentsOfFile: root + "/etc/tidemark/config.json", encoding: .utf8) == "{\"edited\": true}\n")
        #expect(try String(contentsOfFile: root + "/etc/tidemark/env", encoding: .utf8) == env)
        #expect(FileManager.default.fileExists(atPath: root + "/etc/tidemark/config.example.json"))
    }

    @Test(
        "keys.sh makes the agent's pair and admits EAs by the public key made on their own hosts; revoking removes a key"
    )
    func keys() throws {
        // `swift build --build-tests` builds the tidemark executable beside the test bundle.
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.tidemark), "needs the tidemark binary at \(Self.tidemark)"
        )
        let directory = try TemporaryDirectory()
        let keys = directory.url.appendingPathComponent("keys").path
        let script = Self.deploy.appendingPathComponent("keys.sh").path
        // Each terminal host makes its own pair; only the public key travels.
        func eaPair() throws -> (public: String, secret: String) {
            let printed = try Self.run(Self.tidemark, ["keys"]).output
            func value(_ key: String) -> String {
                printed.split(separator: "\n").first { $0.hasPrefix(key) }.map { String($0.split(separator: "\"")[1]) }
                    ?? ""
            }
            return (value("public-key"), value("secret-key"))
        }
        let first = try eaPair()
        let second = try eaPair()
        let made = try Self.run(
            "/bin/sh",
            [
                script, "--dir", keys, "--tidemark", Self.tidemark,
                "--ea", "Demo-1001=\(first.public)", "--ea", "Demo-1002=\(second.public)",
            ])
        #expect(made.status == 0, "\(made.output)")
        #expect(try Self.mode(keys + "/agent.key_secret") & 0o007 == 0)
        let list = try String(contentsOfFile: keys + "/allowed-eas.txt", encoding: .utf8)
        let listed = list.split(separator: "\n").filter { $0.hasPrefix("public-key = \"") }
        #expect(listed.count == 2)
        #expect(list.contains(first.public) && list.contains(second.public))
        // No EA secret on the agent host, none printed.
        #expect(!FileManager.default.fileExists(atPath: keys + "/eas/Demo-1001.key_secret"))
        #expect(!made.output.contains(first.secret) && !made.output.contains("InpClientSecretKey"))
        let refused = try Self.run(
            "/bin/sh", [script, "--dir", keys, "--tidemark", Self.tidemark, "--ea", "Demo-1003"])
        #expect(refused.status != 0)
        #expect(
            refused.output.contains("NAME=PUBLICKEY") && refused.output.contains("own terminal host"),
            "\(refused.output)")

        let agentBefore = try String(contentsOfFile: keys + "/agent.key", encoding: .utf8)
        let again = try Self.run(
            "/bin/sh", [script, "--dir", keys, "--tidemark", Self.tidemark, "--revoke-ea", "Demo-1001"])
        #expect(again.status == 0, "\(again.output)")
        let after = try String(contentsOfFile: keys + "/allowed-eas.txt", encoding: .utf8)
        #expect(after.split(separator: "\n").filter { $0.hasPrefix("public-key") }.count == 1)
        #expect(!after.contains("# Demo-1001"))
        // The agent's pair is kept unless rotated.
        #expect(try String(contentsOfFile: keys + "/agent.key", encoding: .utf8) == agentBefore)
        let rotated = try Self.run("/bin/sh", [script, "--dir", keys, "--tidemark", Self.tidemark, "--rotate-agent"])
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(try String(contentsOfFile: keys + "/agent.key", encoding: .utf8) != agentBefore)
        let retired = try FileManager.default.contentsOfDirectory(atPath: keys + "/retired")
        #expect(retired.filter { $0.hasPrefix("agent-") }.count == 2)
        #expect(retired.filter { $0.hasPrefix("ea-Demo-1001-") }.count == 1)  // its public certificate
    }
}
