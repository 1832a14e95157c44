import Foundation

/// Numeric precision of the model's matrix products.
public enum Precision: String, Codable, Sendable, CaseIterable {
    /// fp32 weights and fp32 products.
    case fp32
    /// bf16 working copies of the weight matrices, bf16 operands with fp32 accumulation in every
    /// matrix product (as PyTorch autocast does), fp32 master weights, gradients and AdamW state.
    case bf16
}

/// How `rest-shaper train` runs a step at scale (the `execution` object of a train config;
/// every key optional). The memory plan (``MemoryPlan``) is computed from these.
public struct ExecutionOptions: Codable, Sendable, Equatable {
    /// `fp32` or `bf16` (see ``Precision``).
    public var precision: Precision = .fp32
    /// Keep only each layer's input in the forward pass and recompute the layer before its
    /// backward (one extra forward of compute for activations of one layer instead of all).
    public var recompute = false
    /// Sequences per forward/backward pass of the update (0: a prompt's whole group at once).
    /// Gradients accumulate across micro-batches, so the update is the same.
    public var updateMicroBatch = 0
    /// Prompts per rollout batch (0: all prompts of the step in one batch).
    public var rolloutPrompts = 0
    /// Rows whose logits exist at once in the loss head (see ``TokenLoss``).
    public var headChunk = 256
    /// Memory the plan must fit in, GiB (nil: the machine's physical memory on the CPU, the
    /// device's free memory on a GPU).
    public var memoryLimitGiB: Double? = nil

    public init() {}

    enum CodingKeys: String, CodingKey { case precision, recompute, updateMicroBatch, rolloutPrompts, headChunk, memoryLimitGiB }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ExecutionOptions()
        precision = try c.decodeIfPresent(Precision.self, forKey: .precision) ?? d.precision
        recompute = try c.decodeIfPresent(Bool.self, forKey: .recompute) ?? d.recompute
        updateMicroBatch = try c.decodeIfPresent(Int.self, forKey: .updateMicroBatch) ?? d.updateMicroBatch
        rolloutPrompts = try c.decodeIfPresent(Int.self, forKey: .rolloutPrompts) ?? d.rolloutPrompts
        headChunk = try c.decodeIfPresent(Int.self, forKey: .headChunk) ?? d.headChunk
        memoryLimitGiB = try c.decodeIfPresent(Double.self, forKey: .memoryLimitGiB)
    }

    public func validate() throws(TrainerError) {
        guard updateMicroBatch >= 0, rolloutPrompts >= 0 else { throw .invalidConfig("execution: micro-batch sizes must be ≥ 0") }
        guard headChunk >= 1 else { throw .invalidConfig("execution.headChunk must be ≥ 1") }
        if let m = memoryLimitGiB, !(m > 0) { throw .invalidConfig("execution.memoryLimitGiB must be positive") }
    }
}
