import ArgumentParser

/// `rest-shaper eval` (placeholder while its module is being written).
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Evaluate predictions on BFCL v3 (AST) or API-Bank.")
    func run() async throws { throw ValidationError("'eval' is not built yet") }
}
