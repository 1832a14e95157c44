/// AdamW over a model's fp32 master weights, with global-norm gradient clipping.
public final class AdamW: @unchecked Sendable {
    public var lr: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Clip the global gradient L2 norm to this value (0 = off).
    public var maxGradNorm: Float
    /// Optimizer steps taken (bias correction; saved with checkpoints).
    public var step: Int = 0
    public let m: ParameterSet
    public let v: ParameterSet
    let backend: TensorBackend

    public init(model: Qwen3Model, lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0.01, maxGradNorm: Float = 1.0) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        self.maxGradNorm = maxGradNorm; self.backend = model.backend
        m = ParameterSet(specs: model.weights.specs, backend: model.backend)
        v = ParameterSet(specs: model.weights.specs, backend: model.backend)
    }

    /// Global L2 norm of `grads`.
    public func gradNorm(_ grads: ParameterSet) -> Double {
        grads.tensors.reduce(0.0) { $0 + backend.sumOfSquares($1) }.squareRoot()
    }

    /// One step on the model's trained parameters (its fp32 master weights in bf16 precision),
    /// then the working copies are refreshed; returns the gradient norm before clipping.
    @discardableResult
    public func step(model: Qwen3Model, grads: ParameterSet) -> Double {
        let norm = step(weights: model.parameters, grads: grads)
        model.refreshWorkingWeights()
        return norm
    }

    /// Clips `grads` (in place) and applies one AdamW step to `weights`; returns the norm before clipping.
    /// Norm weights (1-D) get no weight decay, as in the usual HF/verl parameter groups.
    @discardableResult
    public func step(weights: ParameterSet, grads: ParameterSet) -> Double {
        let norm = gradNorm(grads)
        if maxGradNorm > 0, norm > Double(maxGradNorm), norm.isFinite {
            let s = Float(Double(maxGradNorm) / (norm + 1e-6))
            for g in grads.tensors { backend.scale(g, by: s) }
        }
        guard norm.isFinite else { return norm }   // skip the update on a non-finite gradient
        step += 1
        for i in weights.tensors.indices {
            let decay = weights.specs[i].shape.count == 1 ? 0 : weightDecay
            backend.adamW(param: weights.tensors[i], grad: grads.tensors[i], m: m.tensors[i], v: v.tensors[i],
                          hyper: AdamWStep(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: decay, step: step))
        }
        return norm
    }
}
