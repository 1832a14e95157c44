import ArgumentParser

/// `rest-shaper inspect` (placeholder while its module is being written).
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one rollout as a per-token table: token, bytes, category, weight per profile.")
    func run() async throws { throw ValidationError("'inspect' is not built yet") }
}
