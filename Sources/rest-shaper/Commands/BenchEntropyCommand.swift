import ArgumentParser

/// `rest-shaper bench entropy` (placeholder while its module is being written).
struct BenchEntropyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "entropy", abstract: "Benchmark the entropy kernels against the machine's read bandwidth.")
    func run() async throws { throw ValidationError("'bench entropy' is not built yet") }
}
