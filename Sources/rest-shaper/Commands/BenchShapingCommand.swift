import ArgumentParser

/// `rest-shaper bench shaping` (placeholder while its module is being written).
struct BenchShapingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shaping", abstract: "Benchmark weights and rewards for a batch.")
    func run() async throws { throw ValidationError("'bench shaping' is not built yet") }
}
