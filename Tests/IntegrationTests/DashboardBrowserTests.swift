import Foundation
import TestSupport
import Testing

/// The web dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`), driven
/// by selenium from Tests/DashboardUI/dashboard_ui.py, against a real dashboard, real PostgreSQL and
/// two real agents fed by simulators. Screenshots land in `.build/ui-screenshots`.
@Suite("The web dashboard in headless Chromium", .serialized)
struct DashboardBrowserTests {
    static let liveAccount = "Tidemark-Sim:1000001"
    static let ownAccount = "Tidemark-Sim:1000002"
    /// The venv scripts/setup makes (selenium, pinned).
    static let python = Tidemark.packageRoot.appendingPathComponent(".build/ui-venv/bin/python").path
    static let script = Tidemark.packageRoot.appendingPathComponent("Tests/DashboardUI/dashboard_ui.py").path
    static let screenshots = Tidemark.packageRoot.appendingPathComponent(".build/ui-screenshots").path

    @Test func pagesLoadLiveValuesMoveBreachesAlertAndReadOnlyTokensSeeOnlyTheirAccounts() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.python),
            "the UI test's virtual environment is missing: run scripts/setup (it makes .build/ui-venv)")
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
            "chromium and chromium-driver are missing: run scripts/setup")
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        let directory = try TemporaryDirectory()
        let pki = try TestPKI(in: directory, agents: ["a", "b"])
        let dashboard = FullDashboard(in: directory, database: try PostgresForTests.freshDatabase(), pki: pki)
        try await dashboard.start()
        defer { dashboard.running?.killIfRunning() }
        // A read-only token for the second account only (its secret's SHA-256 is all the table keeps).
        let readSecret = "read_only_token_for_one_account_0123456789abcdef"
        _ = try dashboard.query(
            """
            INSERT INTO api_token (id, name, secret_sha256, read_only, accounts, created_at)
            VALUES ('tok_read_b', 'desk b', '\(Self.sha256(readSecret))', true, ARRAY['\(Self.ownAccount)'], now())
            """)

        let agentA = FullAgent(
            in: directory, name: "a", rules: try Self.rulesWithACompetition(login: 1_000_001, in: directory),
            feeding: dashboard)
        let agentB = FullAgent(
            in: directory, name: "b", rules: try FeedRecordings.rules(login: 1_000_002, in: directory),
            feeding: dashboard)
        try await agentA.start()
        defer { agentA.running?.killIfRunning() }
        try await agentB.start()
        defer { agentB.running?.killIfRunning() }
        // The read-only token's account is fed first, in full.
        let recordingB = try await FeedRecordings.aroundMidnight(login: 1_000_002, in: directory)
        let simulatedB = try await Tidemark.run(
            ["simulate", "--connect", agentB.bridgeEndpoint!, recordingB], in: directory)
        #expect(simulatedB.status == 0, "\(simulatedB.errors)")
        try await agentB.waitUntilFeedDrained()
        // Its agent stops: the agents page must show it quiet (red) while agent a keeps posting.
        #expect(await agentB.stop() == 0)

        let browser = try Tidemark.Running.start(
            Self.python, [Self.script], label: "browser", in: directory,
            environment: [
                "TIDEMARK_UI_URL": dashboard.baseURL, "TIDEMARK_UI_ADMIN_TOKEN": dashboard.adminToken,
                "TIDEMARK_UI_READ_TOKEN": readSecret, "TIDEMARK_UI_LIVE_ACCOUNT": Self.liveAccount,
                "TIDEMARK_UI_OWN_ACCOUNT": Self.ownAccount, "TIDEMARK_UI_SCREENSHOTS": Self.screenshots,
                // 2019-02-05 01:09:00 broker time: the recording's last minute.
                "TIDEMARK_UI_SETTLED_AT": "1549328940000",
                "PYTHONUNBUFFERED": "1", "NO_PROXY": "*", "no_proxy": "*",
            ])
        defer { browser.killIfRunning() }
        let watching = try #require(
            await browser.waitForLine(timeout: 120) { $0["step"] != nil },
            "the browser printed nothing: \(browser.errors)")
        try #require(watching["step"] as? String == "watching", "\(watching) \(browser.errors)")

        // The first account's terminal runs while the pages watch: 100 minutes of ticks at 200 × real time.
        let recordingA = try await FeedRecordings.aroundMidnight(login: 1_000_001, in: directory)
        let simulatorA = try Tidemark.start(
            ["simulate", "--connect", agentA.bridgeEndpoint!, "--speed", "200", recordingA], in: directory)
        defer { simulatorA.killIfRunning() }

        #expect(await browser.waitUntilExit(timeout: 400), "the browser script did not finish")
        let done = try #require(browser.lines.last, "no result: \(browser.output) \(browser.errors)")
        try #require(
            done["step"] as? String == "done",
            "\(done)\n\(browser.errors.suffix(3_000))\n\(dashboard.log.suffix(3_000))")

        // Pages load with no console errors.
        #expect(done["adminConsoleErrors"] as? [String] == [], "\(done["adminConsoleErrors"] ?? "")")
        #expect(done["readOnlyPageErrors"] as? [String] == [], "\(done["readOnlyPageErrors"] ?? "")")
        // The only console errors after that are the refusals the script provoked (a foreign account: 404; the agents: 403).
        let refusals = done["refusalErrors"] as? [String] ?? ["missing"]
        #expect(
            refusals.allSatisfy {
                (($0.contains("/ui/api/accounts/Tidemark-Sim") || $0.contains("/users/current/accounts/Tidemark-Sim"))
                    && $0.contains("404"))
                    || ($0.contains("/ui/api/agents") && $0.contains("403"))
            }, "\(refusals)")
        // A live equity value changed on the page as loaded (no reload).
        let seen = done["equitySeen"] as? [String] ?? []
        #expect(Set(seen).count >= 2, "equity seen: \(seen)")
        #expect(done["samePage"] as? Bool == true)
        // The breach appeared in an alert feed opened before it happened, and the row turned red.
        #expect(done["alertsBefore"] as? Int == 0)
        let alert = done["alert"] as? String ?? ""
        #expect(
            alert.contains(Self.liveAccount) && (alert.contains("drawdown") || alert.contains("maxLoss")), "\(alert)")
        #expect(done["rowRed"] as? Bool == true)
        #expect(done["quietAgents"] as? [String] == ["CN=agent-b,O=Tidemark"])
        // The challenges page shows the competition's leaderboard with the account ranked.
        let leaderboard = done["leaderboard"] as? [String] ?? []
        #expect(leaderboard.contains { $0.contains(Self.liveAccount) && $0.hasPrefix("1") }, "\(leaderboard)")
        // The overview filters as you type and sorts by the clicked column (it starts ascending by
        // server:login, so the first click turns it descending, the second back).
        #expect(done["filtered"] as? [String] == [Self.ownAccount])
        #expect(
            done["accountOrders"] as? [[String]] == [
                [Self.ownAccount, Self.liveAccount], [Self.liveAccount, Self.ownAccount],
            ])
        // The account page draws the challenge's floors, event marks and rule progress.
        let page = done["accountPage"] as? [String: Int] ?? [:]
        #expect(page["floors"] ?? 0 >= 1, "\(page)")
        #expect(page["eventMarks"] ?? 0 >= 1, "\(page)")
        #expect(page["progressRows"] ?? 0 >= 1, "\(page)")
        // A read-only token sees only its account: the other is not found, the agents are refused.
        #expect(done["readOnlyRows"] as? [String] == [Self.ownAccount])
        #expect(done["foreignHeading"] as? String == "Account not found")
        let statuses = done["readOnlyStatuses"] as? [String: Int] ?? [:]
        #expect(statuses["/ui/api/accounts/\(Self.liveAccount)"] == 404, "\(statuses)")
        #expect(statuses["/ui/api/accounts/\(Self.ownAccount)"] == 200, "\(statuses)")
        #expect(statuses["/ui/api/agents"] == 403, "\(statuses)")
        // The agents' REST API on the dashboard, read with the same session cookie.
        #expect(statuses["/users/current/accounts/\(Self.liveAccount)"] == 404, "\(statuses)")
        #expect(statuses["/users/current/accounts/\(Self.ownAccount)"] == 200, "\(statuses)")
        #expect(done["readOnlyApiAccounts"] as? [String] == [Self.ownAccount])
        let alertAccounts = done["readOnlyAlerts"] as? [String] ?? []
        #expect(!alertAccounts.isEmpty && alertAccounts.allSatisfy { $0 == Self.ownAccount }, "\(alertAccounts)")
        let shots = done["screenshots"] as? [String] ?? []
        #expect(shots.count == 10 && shots.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(shots)")
        await simulatorA.stop()
        #expect(await agentA.stop() == 0)
        #expect(await dashboard.stop() == 0)
    }

    /// The feed tests' rules plus a competition over the account (its leaderboard on the challenges page).
    static func rulesWithACompetition(login: Int, in directory: TemporaryDirectory) throws -> String {
        let path = try FeedRecordings.rules(login: login, in: directory)
        var rules = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var declarations = rules["declarations"] as? [[String: Any]] ?? []
        declarations.append([
            "action": "createCompetition",
            "competition": [
                "id": "cup-\(login)", "accounts": ["Tidemark-Sim:\(login)"], "startTime": "2019-02-04 00:00:00.000",
                "endTime": "2019-02-06 00:00:00.000", "metric": "absoluteProfit",
            ],
        ])
        rules["declarations"] = declarations
        let withCompetition = directory.path("rules-competition-\(login).json")
        try JSONSerialization.data(withJSONObject: rules).write(to: URL(fileURLWithPath: withCompetition))
        return withCompetition
    }

    /// SHA-256 hex through openssl (the test target links no hash library).
    static func sha256(_ text: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "dgst", "-sha256", "-r"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }
}
