import HTTPTypes
import Hummingbird
import Rewards
import Synchronization
import Wire

/// The reward settings of one HTTP request: variant, flags and training step. Neither OpenRLHF nor
/// slime can send them in the body, so they come from the URL the trainer is given (query
/// parameters), from headers (for clients that can set them), or from the server's defaults —
/// in that order of precedence.
///
/// | setting | query | header |
/// |---|---|---|
/// | variant | `reward=rest\|toolrl` | `X-Rest-Shaper-Reward` |
/// | flags | `flag=NAME` (repeatable; `flag=none` for no flags) | `X-Rest-Shaper-Flags: A,B` |
/// | step | `step=N` | `X-Rest-Shaper-Step` |
///
/// Flags are repeated parameters rather than a comma list because OpenRLHF splits its
/// `--reward.remote_url` on commas (a list of servers).
struct RewardParameters: Sendable, Equatable {
    var reward: String
    var flags: [String: Bool]
    /// The step the request named, if any (otherwise ``StepCounter`` or 0 applies).
    var step: Int?
    /// slime: reply with the bare reward number (`plain=1`).
    var plain: Bool

    static let rewardHeader = HTTPField.Name("X-Rest-Shaper-Reward")!
    static let flagsHeader = HTTPField.Name("X-Rest-Shaper-Flags")!
    static let stepHeader = HTTPField.Name("X-Rest-Shaper-Step")!
    /// Flags whose effect depends on the training step.
    static let stepDependentFlags = ["SCHEDULEREWARD", "MAX1STEP30MAX3", "SCHEDULELENGTH"]
    /// Every flag name a request may set.
    static let knownFlags = RewardOptions.flagNames + ["LLAMA_TEMPLATE"]
    static let knownQueryKeys: Set<String> = ["reward", "flag", "step", "plain"]
    /// Largest step accepted (the schedules saturate long before).
    static let maxStep = 1 << 40

    /// Reads the request's settings; unknown parameters, variants or flags are `bad_header`.
    static func parse(query: [(key: String, value: String)], headers: HTTPFields,
                      defaults: (reward: String, flags: [String: Bool])) throws(HTTPFrontError) -> RewardParameters {
        for (k, _) in query where !knownQueryKeys.contains(k) {
            throw HTTPFrontError(.badHeader, "unknown query parameter '\(k)' (known: reward, flag, step, plain)")
        }
        func last(_ key: String) -> String? { query.last(where: { $0.key == key })?.value }

        let reward = last("reward") ?? headers[rewardHeader] ?? defaults.reward
        guard RewardRegistry.names.contains(reward) else {
            throw HTTPFrontError(.badHeader, "unknown reward '\(reward)' (known: \(RewardRegistry.names.joined(separator: ", ")))")
        }

        var flags = defaults.flags
        let queryFlags = query.filter { $0.key == "flag" }.map(\.value)
        let named: [String]? = queryFlags.isEmpty
            ? headers[flagsHeader].map { $0.split(separator: ",").map { $0.trimmingSpaces } }
            : queryFlags
        if let named {
            flags = [:]
            for name in named where !name.isEmpty && name != "none" {
                guard knownFlags.contains(name) else {
                    throw HTTPFrontError(.badHeader, "unknown reward flag '\(name)' (known: \(knownFlags.joined(separator: ", ")))")
                }
                flags[name] = true
            }
        }

        var step: Int?
        if let text = last("step") ?? headers[stepHeader] {
            let t = text.trimmingSpaces
            guard let s = Int(t), s >= 0, s <= maxStep else {
                // A number out of range (or not integral) is `value`, as on the ZeroMQ side; anything else `bad_header`.
                let code: WireErrorCode = Double(t) != nil ? .value : .badHeader
                throw HTTPFrontError(code, "step must be an integer in 0...\(maxStep), got '\(text.prefix(40))'")
            }
            step = s
        }

        let plainText = last("plain")
        guard plainText == nil || plainText == "0" || plainText == "1" else {
            throw HTTPFrontError(.badHeader, "plain must be 0 or 1")
        }
        return RewardParameters(reward: reward, flags: flags, step: step, plain: plainText == "1")
    }

    /// Whether the reward reads the step under these flags.
    var dependsOnStep: Bool { Self.stepDependentFlags.contains { flags[$0] == true } }
}

/// The step of requests that name none: with `samplesPerStep` > 0, a running count of the rows
/// such requests have carried, step = 1 + ⌊rows before this request / samplesPerStep⌋ (1 on the
/// first training step, as the released trainer counts). Requests in flight together near a
/// step boundary may land on either side of it.
final class StepCounter: Sendable {
    let samplesPerStep: Int
    private let rows = Atomic<Int>(0)

    init(samplesPerStep: Int) { self.samplesPerStep = samplesPerStep }

    /// The step for a request of `rowCount` rows, or nil when no counter is configured.
    func take(rowCount: Int) -> Int? {
        guard samplesPerStep > 0 else { return nil }
        let before = rows.wrappingAdd(rowCount, ordering: .relaxed).oldValue
        return 1 + max(0, before) / samplesPerStep
    }

    /// Uncounts the rows of a request that was refused after ``take(rowCount:)``.
    func giveBack(rowCount: Int) {
        if samplesPerStep > 0 { rows.subtract(rowCount, ordering: .relaxed) }
    }

    /// The step the next request without a step would get (for `/healthz`).
    var current: Int? { samplesPerStep > 0 ? 1 + max(0, rows.load(ordering: .relaxed)) / samplesPerStep : nil }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
