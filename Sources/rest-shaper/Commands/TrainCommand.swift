import ArgumentParser
import Console
import Foundation
import Trainer

/// `rest-shaper train --config c.json`: GRPO with ResT weights end to end (fallback mode).
/// Writes `<output>/metrics.jsonl`, `<output>/checkpoints/{step-N,latest}` and `<output>/final`
/// (HF-loadable `config.json` + `model.safetensors`).
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Fallback GRPO+ResT trainer.")

    @Option(help: "Training config (JSON, see examples/train/).") var config: String
    @Option(help: "Override outputDir.") var output: String?
    @Option(help: "Override the number of GRPO steps.") var steps: Int?
    @Option(help: "Override the weight profile (aligned, released, uniform).") var profile: String?
    @Option(help: "Resume from a checkpoint folder (e.g. OUTPUT/checkpoints/latest).") var resume: String?
    @Option(help: "Backend: cpu, cuda or auto.") var backend = "cpu"
    @Option(help: "A report line on stderr every N steps (0: none).") var logEvery = 10
    @Option(help: "Precision of the matrix products: fp32, or bf16 (bf16 weights, fp32 master weights and AdamW state).")
    var precision: Precision?
    @Flag(help: "Recompute each layer's activations in the backward pass instead of keeping them.") var recompute = false
    @Option(help: "Memory limit for the memory plan, GiB (default: physical memory / free device memory).") var memoryLimit: Double?
    @Flag(help: "Print the memory plan and exit without training.") var planOnly = false
    @OptionGroup var progress: ProgressOptions
    @Flag(help: "Write per-step policy-gradient norm and variance, overall and per region (config key gradStats; slower).")
    var gradStats = false

    func run() async throws {
        let be = try TrainBackendOption.make(backend) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var c = try TrainConfig.load(from: URL(fileURLWithPath: config))
        if let output { c.outputDir = output }
        if let steps { c.steps = steps }
        if let profile { c.profile = profile }
        if let resume { c.resumeFrom = resume }
        if let precision { c.execution.precision = precision }
        if recompute { c.execution.recompute = true }
        if let memoryLimit { c.execution.memoryLimitGiB = memoryLimit }
        if gradStats { c.gradStats = true }
        // On stderr even with --quiet, and before the bar so the two never share a line: a baseline
        // run must never be read as a ResT run.
        if let banner = TrainReport.uniformBanner(c.profile) { FileHandle.standardError.write(Data((banner + "\n").utf8)) }
        // The bar appears before the model is built, so a person sees the run start at once.
        let meter = progress.meter("train", total: c.warmupSteps + c.steps, unit: .items("steps"))
        meter.update(0, note: "setting up (\(TrainReport.profile(c.profile)), \(be.name))")
        // The memory plan, before any weight is allocated: shown above the bar (or alone with
        // --plan-only, even with --quiet), and a run that cannot fit is refused.
        var planned: MemoryPlan?
        let checkPlan: (ModelConfig, TextCodec, [TaskExample]) throws -> Void = { model, codec, examples in
            let plan = try MemoryPlan.forTraining(model: model, train: c, codec: codec, examples: examples, capacity: be.memoryCapacity)
            planned = plan
            if planOnly {
                meter.finish(note: "memory plan only")
                FileHandle.standardError.write(Data(plan.render().utf8))
                throw ExitCode.success
            }
            meter.message(plan.render().trimmingCharacters(in: .newlines))
            guard plan.fits else { throw TrainerError.insufficientMemory(plan.refusal) }
        }
        let setup = try TrainingSetup(config: c, backend: be, beforeAllocating: checkPlan)
        let trainer = try GRPOTrainer(config: c, model: setup.model, codec: setup.codec, shaper: setup.shaper, examples: setup.examples)
        if let r = c.resumeFrom { try trainer.resume(from: URL(fileURLWithPath: r)) }
        meter.update(trainer.warmupDone + trainer.step, note: TrainReport.profile(c.profile))
        let out = URL(fileURLWithPath: c.outputDir)
        let metricsURL = c.metricsPath.map { URL(fileURLWithPath: $0) } ?? out.appendingPathComponent("metrics.jsonl")
        let metrics = try trainer.run(metricsURL: metricsURL, appendMetrics: c.resumeFrom != nil,
                                      checkpointDir: out.appendingPathComponent("checkpoints")) { m in
            meter.update(trainer.warmupDone + trainer.step, note: TrainReport.note(m))
            if logEvery > 0, m.step % logEvery == 0 { meter.message(TrainReport.line(m, steps: c.steps, warmupSteps: c.warmupSteps, klOn: c.klCoef > 0)) }
        }
        meter.finish()
        try trainer.saveCheckpoint(to: out.appendingPathComponent("final"))
        let grpo = metrics.filter { $0.phase == "grpo" }
        let last = grpo.suffix(10)
        let summary = TrainSummary(
            steps: trainer.step, warmup_steps: trainer.warmupDone, profile: c.profile,
            reward_mean_last10: last.isEmpty ? 0 : last.map(\.rewardMean).reduce(0, +) / Double(last.count),
            reward_mean_first10: grpo.prefix(10).isEmpty ? 0 : grpo.prefix(10).map(\.rewardMean).reduce(0, +) / Double(grpo.prefix(10).count),
            metrics: metricsURL.path, final_checkpoint: out.appendingPathComponent("final").path,
            memory_plan_peak_bytes: planned?.peakBytes ?? 0, peak_backend_bytes: be.memory.peakBytes,
            peak_resident_bytes: ProcessMemory.peakResidentBytes())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(summary)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

/// The JSON summary `train` prints when it finishes.
private struct TrainSummary: Encodable {
    var steps: Int
    var warmup_steps: Int
    var profile: String
    var reward_mean_last10: Double
    var reward_mean_first10: Double
    var metrics: String
    var final_checkpoint: String
    var memory_plan_peak_bytes: Int
    var peak_backend_bytes: Int
    var peak_resident_bytes: Int
}
