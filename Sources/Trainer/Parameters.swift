import Entropy
import Foundation

/// Name and shape of one model parameter (HF `Qwen3ForCausalLM` naming).
public struct ParameterSpec: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var count: Int { shape.reduce(1, *) }
}

/// A named set of backend tensors with the layout of the model's parameters: the weights
/// themselves, their gradients and the AdamW moments all use one of these.
public final class ParameterSet: @unchecked Sendable {
    public let specs: [ParameterSpec]
    public let tensors: [Tensor]
    private let index: [String: Int]

    /// Zero-filled tensors for every spec on `backend`, fp32 unless `dtype` says otherwise.
    public init(specs: [ParameterSpec], backend: TensorBackend, dtype: (ParameterSpec) -> TensorDType = { _ in .fp32 }) {
        self.specs = specs
        self.tensors = specs.map { backend.makeTensor(count: $0.count, dtype: dtype($0)) }
        var idx: [String: Int] = [:]
        for (i, s) in specs.enumerated() { idx[s.name] = i }
        self.index = idx
    }

    public subscript(_ name: String) -> Tensor {
        guard let i = index[name] else { preconditionFailure("no parameter \(name)") }
        return tensors[i]
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// Total number of scalars.
    public var scalarCount: Int { specs.reduce(0) { $0 + $1.count } }

    /// Sets every tensor to zero.
    public func zero(on backend: TensorBackend) { for t in tensors { backend.fill(t, value: 0) } }
}

extension ModelConfig {
    /// Parameter names and shapes in the order HF writes them.
    public var parameterSpecs: [ParameterSpec] {
        let d = hiddenSize, hd = headDim, q = numAttentionHeads * hd, kv = numKeyValueHeads * hd
        var s = [ParameterSpec(name: "model.embed_tokens.weight", shape: [vocabSize, d])]
        for l in 0..<numHiddenLayers {
            let p = "model.layers.\(l)."
            s += [
                ParameterSpec(name: p + "input_layernorm.weight", shape: [d]),
                ParameterSpec(name: p + "self_attn.q_proj.weight", shape: [q, d]),
                ParameterSpec(name: p + "self_attn.k_proj.weight", shape: [kv, d]),
                ParameterSpec(name: p + "self_attn.v_proj.weight", shape: [kv, d]),
                ParameterSpec(name: p + "self_attn.q_norm.weight", shape: [hd]),
                ParameterSpec(name: p + "self_attn.k_norm.weight", shape: [hd]),
                ParameterSpec(name: p + "self_attn.o_proj.weight", shape: [d, q]),
                ParameterSpec(name: p + "post_attention_layernorm.weight", shape: [d]),
                ParameterSpec(name: p + "mlp.gate_proj.weight", shape: [intermediateSize, d]),
                ParameterSpec(name: p + "mlp.up_proj.weight", shape: [intermediateSize, d]),
                ParameterSpec(name: p + "mlp.down_proj.weight", shape: [d, intermediateSize]),
            ]
        }
        s.append(ParameterSpec(name: "model.norm.weight", shape: [d]))
        if !tieWordEmbeddings { s.append(ParameterSpec(name: "lm_head.weight", shape: [vocabSize, d])) }
        return s
    }
}

/// The trainer's generator for weight init and sampling: the project's seeded SplitMix64.
public typealias TrainerRNG = SplitMix64
