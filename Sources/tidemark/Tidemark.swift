import ArgumentParser
import TidemarkBench

/// `tidemark`: the agent, the terminal simulator, replay and the tools around them.
@main
struct Tidemark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tidemark",
        abstract: "MetaTrader bridge, equity tracker and risk engine, and its central dashboard.",
        subcommands: [
            KeysCommand.self,
            SimulateCommand.self,
            MakeRecordingCommand.self,
            AgentCommand.self,
            DashboardCommand.self,
            Bench.self,
            ReplayCommand.self,
        ]
    )
}
