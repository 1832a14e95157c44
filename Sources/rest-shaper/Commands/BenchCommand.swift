import ArgumentParser

/// `rest-shaper bench …`: speed measurements printed as JSON (never timed tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print JSON (shaping, entropy, train, grpo, http).",
        subcommands: [BenchShapingCommand.self, BenchEntropyCommand.self, BenchTrainCommand.self, BenchGRPOCommand.self, BenchHTTPCommand.self]
    )
}
