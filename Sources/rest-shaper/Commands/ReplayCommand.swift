import ArgumentParser

/// `rest-shaper replay` (placeholder while its module is being written).
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Replay a capture file: recompute, diff, per-region statistics, HTML heat-map.")
    func run() async throws { throw ValidationError("'replay' is not built yet") }
}
