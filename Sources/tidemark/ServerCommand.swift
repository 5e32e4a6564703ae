import Agent
import ArgumentParser
import Dashboard
import Foundation
import Logging

/// The settings of a long-running command (`agent`, `dashboard`), resolved in one order: the JSON
/// file of `--config`, then environment variables, then the command's flags; then validated.
protocol LayeredConfiguration {
    /// What loading, reading the environment or validating throws: it carries the exit status.
    associatedtype Failure: Error
    /// Every setting at its default.
    init()
    /// The settings of a JSON file.
    static func load(file path: String) throws(Failure) -> Self
    /// Overrides the settings that `environment` names.
    mutating func applyEnvironment(_ environment: [String: String]) throws(Failure)
    /// Refuses a combination that cannot run.
    func validate() throws(Failure)
    /// trace, debug, info, notice, warning, error or critical.
    var logLevel: String { get set }
}

extension AgentConfiguration: LayeredConfiguration {}
extension DashboardConfiguration: LayeredConfiguration {}

/// The options every long-running command shares: where its settings file is, and how much it logs.
struct ServerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "A JSON file with any of the command's settings; environment variables override it, flags override both.")
    var config: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    /// The settings: `--config`'s file, then the environment, then `flags` (the command's own),
    /// then `--log-level`; validated.
    func settings<Settings: LayeredConfiguration>(
        _ type: Settings.Type, flags: (inout Settings) -> Void
    ) throws(Settings.Failure) -> Settings {
        var settings = try config.map { path throws(Settings.Failure) in try Settings.load(file: path) } ?? Settings()
        try settings.applyEnvironment(ProcessInfo.processInfo.environment)
        flags(&settings)
        if let logLevel { settings.logLevel = logLevel }
        try settings.validate()
        return settings
    }

    /// Sends every log line at `level` or above to stderr (info for a name swift-log does not
    /// know). Once per process: the executable alone bootstraps logging.
    static func bootstrapLogging(level: String) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Ends `command` with one line on stderr and `status`: no usage text, which is for mistakes
    /// on the command line itself.
    static func failure(of command: String, _ message: String, status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("tidemark \(command): \(message)\n".utf8))
        return ExitCode(status)
    }
}
