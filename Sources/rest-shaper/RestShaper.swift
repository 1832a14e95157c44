import ArgumentParser

/// The `rest-shaper` command line: one type per subcommand, each in `Commands/`.
@main
struct RestShaper: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rest-shaper",
        abstract: "ResT token-level policy-gradient reshaping for tool-use LLM RL (sidecar, trainer, replay, evaluation).",
        version: RestShaperVersion.string,
        subcommands: [
            ConformanceCommand.self,
            InspectCommand.self,
            ShapeCommand.self,
            ServeCommand.self,
            KeygenCommand.self,
            TopCommand.self,
            ReplayCommand.self,
            EntropyCommand.self,
            EvalCommand.self,
            TrainCommand.self,
            AnalyzeCommand.self,
            InitModelCommand.self,
            BenchCommand.self,
        ]
    )
}

/// The version reported by `--version` and by the sidecar's `ping`.
enum RestShaperVersion {
    static let string = "0.1.0"
}
