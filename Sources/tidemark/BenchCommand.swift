import ArgumentParser

/// `tidemark bench …`: performance figures of each room, measured on one core. Not tests: numbers for
/// the README and for spotting regressions by eye. Run them in release (`swift run -c release`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (run in release: swift run -c release tidemark bench …).",
        subcommands: [
            BenchBridgeCommand.self,
            BenchEquityCommand.self,
            BenchRiskCommand.self,
        ]
    )
}
