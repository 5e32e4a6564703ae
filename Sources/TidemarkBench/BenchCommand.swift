import ArgumentParser

/// `tidemark bench …`: performance figures of each room, measured on one core. Not tests: numbers for
/// the README and for spotting regressions by eye. Run them in release (`swift run -c release`).
///
/// The `tidemark` executable lists this command among its subcommands; the benchmarks themselves
/// live here, apart from the product's code paths.
public struct Bench: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (run in release: swift run -c release tidemark bench …).",
        subcommands: [
            BenchAgentCommand.self,
            BenchBridgeCommand.self,
            BenchDashboardCommand.self,
            BenchEquityCommand.self,
            BenchRiskCommand.self,
        ]
    )

    public init() {}
}
