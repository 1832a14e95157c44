import ArgumentParser

/// `rest-shaper bench train` (placeholder while its module is being written).
struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Benchmark forward+backward tokens/s for a small config.")
    func run() async throws { throw ValidationError("'bench train' is not built yet") }
}
