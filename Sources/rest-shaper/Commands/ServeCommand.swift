import ArgumentParser

/// `rest-shaper serve` (placeholder while its module is being written).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the ZeroMQ sidecar.")
    func run() async throws { throw ValidationError("'serve' is not built yet") }
}
