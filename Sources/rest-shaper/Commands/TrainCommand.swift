import ArgumentParser

/// `rest-shaper train` (placeholder while its module is being written).
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Fallback GRPO+ResT trainer.")
    func run() async throws { throw ValidationError("'train' is not built yet") }
}
