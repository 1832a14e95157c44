import Foundation
import Pipeline
import Shaping
import PyJSON
import Rewards
import Tokenization

/// Golden ResT vectors (`kind: "rest-vectors"`): every case's weights at every recorded step through
/// the `released` profile of the full engine (token ids in, weights out), and every reward config.
///
/// Pass rules (shared/README): for every step the same tokens are zero and every weight is within
/// 1e-6 relative; a recorded error is reproduced as a typed per-rollout error; every reward component
/// equals the vector to 1e-9 for every config.
public struct RestVectorsSuite: ConformanceSuite {
    public static let kind = "rest-vectors"

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard case .object(let o)? = try? PyJSON.loads(firstRecordJSON) else { return false }
        return o["kind"]?.stringValue == kind
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        guard let tokPath = context.tokenizerPath else { throw ConformanceError.missingTokenizer(kind) }
        let tokenizer = try Tokenizer.load(path: tokPath)
        guard let data = FileManager.default.contents(atPath: path) else { throw ConformanceError.unreadable(path) }
        let root = try PyJSON.loads(String(decoding: data, as: UTF8.self))
        let engine = ShapingEngine(tokenizer: tokenizer)
        var report = ConformanceReport(context)
        let configs = root["reward_configs"]?.arrayValue ?? []
        for c in root["cases"]?.arrayValue ?? [] {
            let id = c["id"]?.stringValue ?? "?"
            report.record(id, check(case: c, configs: configs, engine: engine))
        }
        return report
    }

    /// First difference of one case, or nil when it passes.
    static func check(case c: JSONValue, configs: [JSONValue], engine: ShapingEngine) -> String? {
        guard let ids = c["token_ids"]?.arrayValue?.compactMap({ $0.intValue.map(Int32.init) }),
              let mask = c["loss_mask"]?.arrayValue?.compactMap({ $0.doubleValue.map(Float.init) }),
              ids.count == mask.count, let gt = c["ground_truth"]?.stringValue else {
            return "malformed case (token_ids, loss_mask, ground_truth)"
        }
        // Weights at every step.
        if case .object(let byStep)? = c["weights_by_step"] {
            for (stepKey, expected) in byStep.pairs {
                guard let step = Int(stepKey) else { return "bad step key \(stepKey)" }
                let request = ShapeRequest(inputIDs: ids, mask: mask, batch: 1, length: ids.count, groundTruths: [gt],
                                           step: step, options: ShapeOptions(profile: "released"))
                let result: ShapeResult
                do { result = try engine.shape(request) } catch { return "step \(step): request rejected: \(error)" }
                if case .object(let errObj) = expected, let errType = errObj["error"]?.stringValue {
                    if result.rolloutStatus[0].isOK { return "step \(step): expected error \(errType), got weights" }
                    continue
                }
                guard let want = expected.arrayValue?.compactMap({ $0.doubleValue }), want.count == ids.count else {
                    return "step \(step): malformed expected weights"
                }
                if !result.rolloutStatus[0].isOK { return "step \(step): unexpected \(result.rolloutStatus[0].code): \(result.rolloutStatus[0].message)" }
                if let d = WeightConformance.compare(got: result.weights, want: want) { return "step \(step): \(d)" }
            }
        }
        if let err = c["error"]?.stringValue {
            // A case whose reference raised: the engine must flag it, never crash.
            let request = ShapeRequest(inputIDs: ids, mask: mask, batch: 1, length: ids.count, groundTruths: [gt],
                                       step: 0, options: ShapeOptions(profile: "released"))
            guard let r = try? engine.shape(request), !r.rolloutStatus[0].isOK else { return "expected typed error \(err)" }
        }
        // Rewards under every config, on the exact solution string the reference scored.
        guard case .object(let rewards)? = c["rewards"], let solution = c["solution_str"]?.stringValue else { return nil }
        for cfg in configs {
            guard let name = cfg["name"]?.stringValue, let want = rewards[name] else { continue }
            var env: [String: String] = [:]
            if case .object(let e)? = cfg["env"] { for (k, v) in e.pairs { env[k] = v.stringValue ?? "" } }
            let step = cfg["step"]?.intValue ?? 0
            let fn: any RewardFunction
            do { fn = try RewardRegistry.make("rest", options: RewardOptions(environment: env)) } catch { return "\(name): \(error)" }
            if let errType = want["error"]?.stringValue {
                if (try? fn.score(solution: solution, groundTruth: gt, step: step)) != nil { return "\(name): expected error \(errType)" }
                continue
            }
            let got: RewardComponents
            do { got = try fn.score(solution: solution, groundTruth: gt, step: step) } catch { return "\(name): raised \(error)" }
            if let d = compare(got, want, label: name) { return d }
            // The same reward through the engine, as the sidecar computes it: from the response ids
            // alone (the scored text is the last assistant turn), flags as options.
            let flags = Dictionary(uniqueKeysWithValues: env.map { ($0.key, $0.value == "1") })
            let request = ShapeRequest(inputIDs: ids, mask: mask, batch: 1, length: ids.count, groundTruths: [gt], step: step,
                                       options: ShapeOptions(profile: "uniform", rewardFlags: flags, computeWeights: false))
            guard let r = try? engine.shape(request) else { return "\(name): engine rejected the request" }
            let c = r.components
            let viaEngine = RewardComponents(score: Double(c[3]), format: Double(c[0]), correctness: Double(c[1]), length: Double(c[2]))
            // The wire carries float32: compare to float32 resolution.
            if let d = compare(viaEngine, want, label: "\(name) via engine", tolerance: 1e-6) { return d }
        }
        return nil
    }
}

private func compare(_ got: RewardComponents, _ want: JSONValue, label: String, tolerance: Double = 1e-9) -> String? {
    for (key, value) in [("score", got.score), ("format", got.format), ("correctness", got.correctness), ("length", got.length)] {
        guard let w = want[key]?.doubleValue else { return "\(label): missing \(key)" }
        if abs(w - value) > tolerance * max(1, abs(w)) { return "\(label).\(key): got \(value), want \(w)" }
    }
    return nil
}
