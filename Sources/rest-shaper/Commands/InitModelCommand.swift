import ArgumentParser

/// `rest-shaper init-model` (placeholder while its module is being written).
struct InitModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init-model", abstract: "Create a Qwen3-architecture model with random weights from a config.")
    func run() async throws { throw ValidationError("'init-model' is not built yet") }
}
