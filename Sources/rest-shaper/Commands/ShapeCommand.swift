import ArgumentParser

/// `rest-shaper shape` (placeholder while its module is being written).
struct ShapeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shape", abstract: "Offline batch mode: rollouts.jsonl in, weights and rewards out.")
    func run() async throws { throw ValidationError("'shape' is not built yet") }
}
