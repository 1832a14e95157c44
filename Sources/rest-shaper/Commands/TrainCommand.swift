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
        if gradStats { c.gradStats = true }
        // The bar appears before the model is built, so a person sees the run start at once.
        let meter = progress.meter("train", total: c.warmupSteps + c.steps, unit: .items("steps"))
        meter.update(0, note: "setting up (\(TrainReport.profile(c.profile)), \(be.name))")
        let setup = try TrainingSetup(config: c, backend: be)
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
        let summary: [String: Any] = [
            "steps": trainer.step, "warmup_steps": trainer.warmupDone, "profile": c.profile,
            "reward_mean_last10": last.isEmpty ? 0 : last.map(\.rewardMean).reduce(0, +) / Double(last.count),
            "reward_mean_first10": grpo.prefix(10).isEmpty ? 0 : grpo.prefix(10).map(\.rewardMean).reduce(0, +) / Double(grpo.prefix(10).count),
            "metrics": metricsURL.path, "final_checkpoint": out.appendingPathComponent("final").path,
        ]
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
