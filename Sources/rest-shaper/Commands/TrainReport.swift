import Console
import Foundation
import Trainer

/// What `train` tells a person while it learns: the bar's note after every step and a report
/// line every `--log-every` steps (stderr; the metrics file has every number of every step).
enum TrainReport {
    /// The profile as the report shows it: loud for `uniform`, so a baseline run is never read as ResT.
    static func profile(_ name: String) -> String {
        name == "uniform" ? "profile UNIFORM (baseline: w = mask, no ResT)" : "profile \(name)"
    }

    /// The line `train` prints before anything else when the weights are all ones: a baseline run
    /// must never be mistaken for a ResT run (nil for the other profiles).
    static func uniformBanner(_ profile: String) -> String? {
        guard profile == "uniform" else { return nil }
        return "BASELINE RUN: profile uniform, every valid response token weighs 1 (w = mask). This is plain GRPO, not ResT; use --profile aligned for ResT."
    }

    /// One report line: step, reward mean and its format/correctness parts, loss, KL, grad norm,
    /// weighted-token fraction, tokens/s, profile (warm-up steps: loss, grad norm, tokens/s).
    /// `klOn`: false when the config has no KL term.
    static func line(_ m: StepMetrics, steps: Int, warmupSteps: Int, klOn: Bool) -> String {
        if m.phase != "grpo" {
            return String(format: "warm-up %d/%d · loss %.4f · |g| %.3f · %@ tok/s", m.step, warmupSteps, m.loss, m.gradNorm,
                          ProgressMeter.compact(m.tokensPerSecond))
        }
        var parts = [
            String(format: "step %d/%d", m.step, steps),
            String(format: "reward %.3f (format %.3f, correct %.3f)", m.rewardMean, m.formatMean, m.correctnessMean),
            String(format: "loss %.4f", m.loss),
            klOn ? String(format: "KL %.4f", m.kl) : "KL off",
            String(format: "|g| %.3f", m.gradNorm),
            String(format: "weighted %.1f%%", 100 * m.weightedFraction),
            "\(ProgressMeter.compact(m.tokensPerSecond)) tok/s",
            profile(m.profile),
        ]
        if !m.rolloutErrors.isEmpty {
            parts.append("rollout errors " + m.rolloutErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return parts.joined(separator: " · ")
    }

    /// The bar's note after a step.
    static func note(_ m: StepMetrics) -> String {
        m.phase == "grpo" ? String(format: "reward %.3f loss %.4f", m.rewardMean, m.loss)
                          : String(format: "warm-up loss %.4f", m.loss)
    }
}
