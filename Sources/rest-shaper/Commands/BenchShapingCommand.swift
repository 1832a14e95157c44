import ArgumentParser
import Benchmarks
import Console
import Dispatch
import Foundation
import Pipeline
import PyJSON
import Tokenization

/// `rest-shaper bench shaping`: ms per batch for the weights (per profile) and for the rewards,
/// on a seeded synthetic batch of realistic tool-use rollouts. Prints JSON.
///
/// The released Python code cannot run here, so its speed is the measured baseline from the
/// reference material (≈ 49 ms per 2,048-token rollout for the weights, ≈ 0.14 ms per rollout for
/// the reward, on this 2-core machine), scaled to the batch; the ratio is printed beside it.
struct BenchShapingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shaping", abstract: "Benchmark weights and rewards for a batch (JSON).")

    @Option(help: "Rollouts per batch.") var batch = 512
    @Option(help: "Tokens per rollout.") var len = 2048
    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Worker threads (0 = all cores).") var threads = 0
    @Option(help: "Timed repetitions per measurement (the median is reported).") var repeats = 5
    @Option(help: "Profiles to time, comma-separated.") var profiles = "aligned,released,uniform"
    @OptionGroup var progress: ProgressOptions

    func run() throws {
        let tok = try Tokenizer.load(path: tokenizer)
        let engine = ShapingEngine(tokenizer: tok, threads: threads)
        let data = SyntheticRollouts(batch: batch, length: len).make(tokenizer: tok)
        func request(_ profile: String, weights: Bool, rewards: Bool) -> ShapeRequest {
            ShapeRequest(inputIDs: data.ids, mask: data.mask, batch: batch, length: len, groundTruths: data.groundTruths, step: 100,
                         options: ShapeOptions(profile: profile, computeRewards: rewards, computeWeights: weights))
        }
        let profileNames = profiles.split(separator: ",").map(String.init)
        let meter = progress.meter("bench shaping", total: (profileNames.count + 1) * (1 + max(1, repeats)), unit: .items("batches"))
        func medianMS(_ req: ShapeRequest) throws -> Double {
            _ = try engine.shape(req)  // warm-up
            meter.advance()
            var times: [Double] = []
            for _ in 0..<max(1, repeats) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try engine.shape(req)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                meter.advance()  // outside the timed span
            }
            return times.sorted()[times.count / 2]
        }
        let rows = Double(batch)
        let referenceWeightsMS = 49.0 * rows * Double(len) / 2048.0
        let referenceRewardsMS = 0.14 * rows
        var weights = JSONObject()
        for p in profileNames {
            let ms = try medianMS(request(p, weights: true, rewards: false))
            var o = JSONObject()
            o["ms_per_batch"] = .double((ms * 100).rounded() / 100)
            o["speedup_vs_released_python_baseline"] = .double((referenceWeightsMS / ms * 10).rounded() / 10)
            weights[p] = .object(o)
        }
        let rewardMS = try medianMS(request("uniform", weights: false, rewards: true))
        meter.finish()
        var out = JSONObject()
        out["batch"] = .int(batch)
        out["len"] = .int(len)
        out["threads"] = .int(engine.threads)
        out["weights"] = .object(weights)
        var r = JSONObject()
        r["ms_per_batch"] = .double((rewardMS * 100).rounded() / 100)
        r["speedup_vs_released_python_baseline"] = .double((referenceRewardsMS / rewardMS * 10).rounded() / 10)
        out["rewards"] = .object(r)
        var ref = JSONObject()
        ref["source"] = .string("released Python code, measured on this machine kind (reference material)")
        ref["weights_ms_per_batch"] = .double(referenceWeightsMS)
        ref["rewards_ms_per_batch"] = .double(referenceRewardsMS)
        out["reference_baseline"] = .object(ref)
        out["targets_ms"] = .object(JSONObject([("aligned", .double(100)), ("released", .double(1000))]))
        print(PyJSON.dumps(.object(out), indent: 2))
    }
}
