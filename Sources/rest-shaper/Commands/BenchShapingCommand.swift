import ArgumentParser
import Benchmarks
import Console
import Dispatch
import Foundation
import Pipeline
import Tokenization

/// `rest-shaper bench shaping`: ms per batch for the weights (per profile), the rewards, and the
/// whole job (aligned weights + rewards + categories in one call), on a seeded synthetic batch of
/// realistic tool-use rollouts. Prints JSON.
///
/// `--reference-dir DIR` (a checkout of the released ResT code) runs `examples/bench/reference_path.py`
/// on the same batch in the same run — the released trainer's `batch_decode` + `build_token_weight`
/// and its reward manager's per-rollout decode + `compute_score` — alternating with our rounds,
/// and prints the ratios of the medians (`total_ratio_vs_reference`). Without it the ratios are
/// against stored figures of another machine and run, under a key that says so.
struct BenchShapingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shaping", abstract: "Benchmark weights and rewards for a batch (JSON).")

    @Option(help: "Rollouts per batch.") var batch = 512
    @Option(help: "Tokens per rollout.") var len = 2048
    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Worker threads (0 = all cores).") var threads = 0
    @Option(help: "Timed repetitions per measurement and round (the median is reported).") var repeats = 5
    @Option(help: "Profiles to time, comma-separated.") var profiles = "aligned,released,uniform"
    @Option(help: "Training step passed to both sides.") var step = 100
    @Option(help: "A checkout of the released ResT code: time its per-batch path in the same run.") var referenceDir: String?
    @Option(help: "Python with torch and transformers for --reference-dir (default: .venv/bin/python, else python3).") var referencePython: String?
    @Option(help: "The reference side's script.") var referenceScript = "examples/bench/reference_path.py"
    @Option(help: "Rounds with --reference-dir (each times both sides, alternating which goes first).") var rounds = 1
    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard batch > 0, len > 0, repeats > 0, rounds > 0, threads >= 0 else { throw ValidationError("batch, len, repeat, rounds must be > 0") }
    }

    /// What reference_path.py prints.
    struct ReferenceResult: Codable {
        var source: String
        var weights_seconds: Double
        var batch_decode_seconds: Double
        var rewards_seconds: Double
        var rewards_decode_seconds: Double
        var weights_sum: Double
        var nonzero_weights: Int
        var reward_mean: Double
    }

    /// Median wall time of one batch, and the median process CPU time (all threads) of one batch:
    /// the second moves much less when other processes load the machine.
    struct Timing: Encodable { var ms_per_batch: Double; var cpu_ms_per_batch: Double }

    /// Ratios of the reference path's time to ours (> 1: we are faster).
    struct Ratios: Encodable {
        var weights_aligned: Double, weights_released: Double?, rewards: Double, total: Double
    }

    /// Stored figures: another machine and another run, labelled as such.
    struct Stored: Encodable {
        var source: String
        var weights_ms_per_batch: Double
        var rewards_ms_per_batch: Double
        var ratios_not_from_this_run: Ratios
    }

    struct Report: Encodable {
        var bench = "shaping"
        var batch: Int, len: Int, step: Int, threads: Int, repeats: Int
        var weights: [String: Timing]
        var rewards: Timing
        /// Aligned weights + rewards + categories, one engine call.
        var total: Timing
        var reference: ReferenceResult?
        var reference_rounds: [ReferenceResult]?
        var weights_ratio_vs_reference: Double?
        var released_weights_ratio_vs_reference: Double?
        var rewards_ratio_vs_reference: Double?
        var total_ratio_vs_reference: Double?
        /// Our `released` profile reproduces the reference's weights (same non-zero count, sums within 1e-4).
        var released_matches_reference: Bool?
        var reference_not_from_this_run: Stored?
        var cpu_model: String, cores: Int, load_average_1m: Double?
    }

    func run() throws {
        let tok = try Tokenizer.load(path: tokenizer)
        let engine = ShapingEngine(tokenizer: tok, threads: threads)
        let data = SyntheticRollouts(batch: batch, length: len).make(tokenizer: tok)
        func request(_ profile: String, weights: Bool, rewards: Bool) -> ShapeRequest {
            ShapeRequest(inputIDs: data.ids, mask: data.mask, batch: batch, length: len, groundTruths: data.groundTruths, step: step,
                         options: ShapeOptions(profile: profile, computeRewards: rewards, computeWeights: weights))
        }
        let profileNames = profiles.split(separator: ",").map(String.init)
        let perRound = (profileNames.count + 2) * (1 + repeats)
        let meter = progress.meter("bench shaping", total: perRound * (referenceDir == nil ? 1 : rounds), unit: .items("batches"))
        func medianMS(_ req: ShapeRequest) throws -> Timing {
            _ = try engine.shape(req)  // warm-up
            meter.advance()
            var times: [Double] = [], cpu: [Double] = []
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds, c0 = BenchMachine.processCPUSeconds()
                _ = try engine.shape(req)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                cpu.append((BenchMachine.processCPUSeconds() - c0) * 1000)
                meter.advance()  // outside the timed span
            }
            return Timing(ms_per_batch: BenchMachine.median(times)!, cpu_ms_per_batch: BenchMachine.median(cpu)!)
        }
        var weightMS: [String: [Timing]] = [:], rewardMS: [Timing] = [], totalMS: [Timing] = []
        func ours() throws {
            for p in profileNames { weightMS[p, default: []].append(try medianMS(request(p, weights: true, rewards: false))) }
            rewardMS.append(try medianMS(request("uniform", weights: false, rewards: true)))
            totalMS.append(try medianMS(request("aligned", weights: true, rewards: true)))
        }

        var refs: [ReferenceResult] = []
        if let referenceDir {
            let py = ExternalBenchmark.python(referencePython)
            let args = try writeReferenceInputs(tok: tok, data: data) + ["--rest-dir", referenceDir]
            defer { try? FileManager.default.removeItem(at: scratch) }
            for r in 0..<rounds {
                if r % 2 == 1 { refs.append(try ExternalBenchmark.runJSON(ReferenceResult.self, executable: py, arguments: [referenceScript] + args)) }
                try ours()
                if r % 2 == 0 { refs.append(try ExternalBenchmark.runJSON(ReferenceResult.self, executable: py, arguments: [referenceScript] + args)) }
            }
        } else {
            try ours()
        }
        meter.finish()

        let med = { (xs: [Double]) in BenchMachine.median(xs)! }
        let medT = { (xs: [Timing]) in Timing(ms_per_batch: med(xs.map(\.ms_per_batch)), cpu_ms_per_batch: med(xs.map(\.cpu_ms_per_batch))) }
        let aligned = weightMS["aligned"].map { medT($0).ms_per_batch }, released = weightMS["released"].map { medT($0).ms_per_batch }
        let rewards = medT(rewardMS).ms_per_batch, total = medT(totalMS).ms_per_batch
        var report = Report(batch: batch, len: len, step: step, threads: engine.threads, repeats: repeats,
                            weights: weightMS.mapValues(medT), rewards: medT(rewardMS), total: medT(totalMS),
                            cpu_model: BenchMachine.cpuModel, cores: BenchMachine.cores, load_average_1m: BenchMachine.loadAverage)
        if let last = refs.last {
            let refWeights = med(refs.map(\.weights_seconds)) * 1000, refRewards = med(refs.map(\.rewards_seconds)) * 1000
            report.reference = last
            report.reference_rounds = refs.count > 1 ? refs : nil
            report.weights_ratio_vs_reference = aligned.map { refWeights / $0 }
            report.released_weights_ratio_vs_reference = released.map { refWeights / $0 }
            report.rewards_ratio_vs_reference = refRewards / rewards
            report.total_ratio_vs_reference = (refWeights + refRewards) / total
            let mine = try engine.shape(request("released", weights: true, rewards: false)).weights
            let sum = mine.reduce(0.0) { $0 + Double($1) }, nonzero = mine.filter { $0 > 0 }.count
            report.released_matches_reference = nonzero == last.nonzero_weights && abs(sum - last.weights_sum) <= 1e-4 * max(1, abs(sum))
        } else {
            // shared/README.md "Baseline", 2026-11-30, an AVX-512 Xeon: build_token_weight + batch_decode
            // 29.7 ms per 2,048-token rollout; the reward manager's decode 0.91 ms + compute_score 0.12 ms
            // per rollout (decode included, as ours includes it).
            let sw = 29.7 * Double(batch) * Double(len) / 2048, sr = (0.91 + 0.12) * Double(batch)
            report.reference_not_from_this_run = Stored(
                source: "stored figures of the released Python path measured on another machine in another run (2026-11-30, AVX-512 Xeon); run with --reference-dir DIR for a same-run comparison",
                weights_ms_per_batch: sw, rewards_ms_per_batch: sr,
                ratios_not_from_this_run: Ratios(weights_aligned: aligned.map { sw / $0 } ?? .nan, weights_released: released.map { sw / $0 },
                                                 rewards: sr / rewards, total: (sw + sr) / total))
        }
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileHandle.standardOutput.write(try enc.encode(report) + Data("\n".utf8))
    }

    var scratch: URL { FileManager.default.temporaryDirectory.appendingPathComponent("rest-shaper-bench-shaping-\(getpid())") }

    /// Writes the batch (and the added tokens, for a tiktoken file) for reference_path.py; returns its arguments.
    func writeReferenceInputs(tok: Tokenizer, data: (ids: [Int32], mask: [Float], groundTruths: [String])) throws -> [String] {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        struct BatchFile: Encodable { var batch: Int, len: Int, step: Int, ids: [Int32], mask: [Int], ground_truths: [String] }
        let batchURL = scratch.appendingPathComponent("batch.json"), addedURL = scratch.appendingPathComponent("added.json")
        try JSONEncoder().encode(BatchFile(batch: batch, len: len, step: step, ids: data.ids, mask: data.mask.map { $0 != 0 ? 1 : 0 },
                                           ground_truths: data.groundTruths)).write(to: batchURL)
        try ExternalBenchmark.writeAddedTokens(of: tok, to: addedURL)
        return ["--tokenizer", tokenizer, "--batch-file", batchURL.path, "--added-tokens", addedURL.path]
    }
}
