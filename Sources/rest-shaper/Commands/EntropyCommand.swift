import ArgumentParser

/// `rest-shaper entropy` (placeholder while its module is being written).
struct EntropyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "entropy", abstract: "Per-row entropy of logits in a .npy file.")
    func run() async throws { throw ValidationError("'entropy' is not built yet") }
}
