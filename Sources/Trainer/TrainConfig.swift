import Foundation

/// Configuration of `rest-shaper train` (a JSON file; every key optional, defaults below).
public struct TrainConfig: Codable, Sendable, Equatable {
    /// HF model folder to start from (config.json + safetensors + tokenizer.json).
    public var modelPath: String? = nil
    /// Architecture for a random init when `modelPath` is nil (vocab is the task's).
    public var initModel: ModelConfig? = nil
    /// `synthetic` (built-in task) or `rlla` (ToolRL JSONL at `dataPath`).
    public var task: String = "synthetic"
    public var dataPath: String? = nil
    /// Qwen3 `tokenizer.json` (or `qwen.tiktoken`) for the shaping core, and the model's codec
    /// when the model uses the Qwen vocabulary. Default: `<modelPath>/tokenizer.json`.
    public var tokenizerPath: String? = nil
    /// Synthetic task: digits of the argument to copy.
    public var syntheticDigits: Int = 2
    public var outputDir: String = "runs/train"
    /// Metrics JSONL path (default `<outputDir>/metrics.jsonl`).
    public var metricsPath: String? = nil
    public var seed: UInt64 = 0
    /// Synthetic task: number of distinct training prompts (0 = unbounded stream).
    public var syntheticPrompts: Int = 0

    // Supervised warm-up (on the ground truths) before GRPO.
    public var warmupSteps: Int = 0
    public var warmupBatch: Int = 16
    public var warmupLR: Float = 3e-3

    // GRPO.
    public var steps: Int = 100
    public var promptsPerStep: Int = 4
    public var samplesPerPrompt: Int = 8
    public var sampling = SamplingOptions()
    /// Stop strings (special tokens of the vocabulary).
    public var stopTokens: [String] = ["<|im_end|>", "<|endoftext|>"]
    public var lr: Float = 1e-3
    public var weightDecay: Float = 0.0
    public var maxGradNorm: Float = 1.0
    public var clipEps: Float = 0.2
    public var ppoEpochs: Int = 1
    /// KL-to-reference coefficient (k3 estimator); 0 = off, as in ResT.
    public var klCoef: Float = 0

    // Shaping (passed to the core as ShapeOptions).
    /// Weight profile: `aligned`, `released`, or `uniform` (the baseline).
    public var profile: String = "aligned"
    public var reward: String = "rest"
    public var rewardFlags: [String: Bool] = [:]
    public var scheduleJSON: String? = nil

    public var checkpointEvery: Int = 0
    /// Per-step policy-gradient norm and variance, overall and per region (``GradientStatistics``);
    /// off by default: it costs one extra forward pass per rollout and a backward pass per (rollout, region).
    public var gradStats: Bool = false
    /// With `gradStats`: compute them on every N-th GRPO step only (1 = every step).
    public var gradStatsEvery: Int = 1
    /// Resume from this checkpoint folder (written by a previous run).
    public var resumeFrom: String? = nil

    /// How the step runs at scale: precision, activation recomputation, micro-batches, memory limit.
    public var execution = ExecutionOptions()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case modelPath, initModel, task, dataPath, tokenizerPath, syntheticDigits, outputDir, metricsPath, seed, syntheticPrompts
        case warmupSteps, warmupBatch, warmupLR, steps, promptsPerStep, samplesPerPrompt, sampling, stopTokens
        case lr, weightDecay, maxGradNorm, clipEps, ppoEpochs, klCoef, profile, reward, rewardFlags, scheduleJSON
        case checkpointEvery, resumeFrom, execution, gradStats, gradStatsEvery
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainConfig()
        func get<T: Decodable>(_ k: CodingKeys, _ def: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? def }
        modelPath = try c.decodeIfPresent(String.self, forKey: .modelPath)
        initModel = try c.decodeIfPresent(ModelConfig.self, forKey: .initModel)
        tokenizerPath = try c.decodeIfPresent(String.self, forKey: .tokenizerPath)
        syntheticDigits = try get(.syntheticDigits, d.syntheticDigits)
        task = try get(.task, d.task); dataPath = try c.decodeIfPresent(String.self, forKey: .dataPath)
        outputDir = try get(.outputDir, d.outputDir); metricsPath = try c.decodeIfPresent(String.self, forKey: .metricsPath)
        seed = try get(.seed, d.seed); syntheticPrompts = try get(.syntheticPrompts, d.syntheticPrompts)
        warmupSteps = try get(.warmupSteps, d.warmupSteps); warmupBatch = try get(.warmupBatch, d.warmupBatch)
        warmupLR = try get(.warmupLR, d.warmupLR); steps = try get(.steps, d.steps)
        promptsPerStep = try get(.promptsPerStep, d.promptsPerStep); samplesPerPrompt = try get(.samplesPerPrompt, d.samplesPerPrompt)
        sampling = try get(.sampling, d.sampling); stopTokens = try get(.stopTokens, d.stopTokens)
        lr = try get(.lr, d.lr); weightDecay = try get(.weightDecay, d.weightDecay)
        maxGradNorm = try get(.maxGradNorm, d.maxGradNorm); clipEps = try get(.clipEps, d.clipEps)
        ppoEpochs = try get(.ppoEpochs, d.ppoEpochs); klCoef = try get(.klCoef, d.klCoef)
        profile = try get(.profile, d.profile); reward = try get(.reward, d.reward)
        rewardFlags = try get(.rewardFlags, d.rewardFlags); scheduleJSON = try c.decodeIfPresent(String.self, forKey: .scheduleJSON)
        checkpointEvery = try get(.checkpointEvery, d.checkpointEvery); resumeFrom = try c.decodeIfPresent(String.self, forKey: .resumeFrom)
        execution = try get(.execution, d.execution)
        gradStats = try get(.gradStats, d.gradStats); gradStatsEvery = try get(.gradStatsEvery, d.gradStatsEvery)
    }

    /// Reads a config file.
    public static func load(from url: URL) throws -> TrainConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TrainerError.io("cannot read \(url.path): \(error.localizedDescription)") }
        do { return try JSONDecoder().decode(TrainConfig.self, from: data) } catch {
            throw TrainerError.invalidConfig("\(url.lastPathComponent): \(error)")
        }
    }

    /// Checks values are usable.
    public func validate() throws(TrainerError) {
        guard samplesPerPrompt >= 2 else { throw .invalidConfig("samplesPerPrompt must be ≥ 2 (group-normalised advantages)") }
        guard promptsPerStep >= 1, steps >= 0, warmupSteps >= 0, ppoEpochs >= 1, gradStatsEvery >= 1 else { throw .invalidConfig("counts must be positive") }
        guard sampling.maxNewTokens >= 1, sampling.topP > 0, sampling.topP <= 1 else { throw .invalidConfig("bad sampling options") }
        guard ["synthetic", "rlla"].contains(task) else { throw .invalidConfig("task must be synthetic or rlla, not \(task)") }
        if task == "rlla" && dataPath == nil { throw .invalidConfig("task rlla needs dataPath") }
        if modelPath == nil && initModel == nil && resumeFrom == nil { throw .invalidConfig("give modelPath, initModel or resumeFrom") }
        try execution.validate()
    }
}
