import ArgumentParser

/// `rest-shaper bench …`: speed measurements printed as JSON (never timed tests).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print JSON (shaping, entropy, train, grpo, tokenizer, http).",
        subcommands: [BenchShapingCommand.self, BenchEntropyCommand.self, BenchTrainCommand.self, BenchGRPOCommand.self,
                      BenchTokenizerCommand.self, BenchHTTPCommand.self]
    )
}
