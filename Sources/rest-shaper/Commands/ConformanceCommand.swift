import ArgumentParser

/// `rest-shaper conformance` (placeholder while its module is being written).
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "conformance", abstract: "Check golden vectors / tokenizer cases / reference files: prints 'N passed, M failed'.")
    func run() async throws { throw ValidationError("'conformance' is not built yet") }
}
