import Foundation

/// Hyper-parameters of a Qwen3-architecture causal LM, read from / written to a HuggingFace
/// `config.json` (field names as in `Qwen3Config`).
public struct ModelConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var tieWordEmbeddings: Bool
    public var maxPositionEmbeddings: Int

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
                numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int, rmsNormEps: Float = 1e-6,
                ropeTheta: Float = 1_000_000, tieWordEmbeddings: Bool = true, maxPositionEmbeddings: Int = 4096) {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers; self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads; self.headDim = headDim; self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta; self.tieWordEmbeddings = tieWordEmbeddings
        self.maxPositionEmbeddings = maxPositionEmbeddings
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", tieWordEmbeddings = "tie_word_embeddings"
        case maxPositionEmbeddings = "max_position_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? hiddenSize / numAttentionHeads
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 1_000_000
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 4096
    }

    /// Checks the shapes fit together (heads divide, head_dim even, …).
    public func validate() throws(TrainerError) {
        guard vocabSize > 0, hiddenSize > 0, intermediateSize > 0, numHiddenLayers > 0, headDim > 0,
              numAttentionHeads > 0, numKeyValueHeads > 0 else { throw .invalidConfig("all sizes must be positive") }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw .invalidConfig("num_attention_heads (\(numAttentionHeads)) must be a multiple of num_key_value_heads (\(numKeyValueHeads))")
        }
        guard headDim % 2 == 0 else { throw .invalidConfig("head_dim must be even for RoPE") }
    }

    /// Reads a HuggingFace `config.json`.
    public static func load(from url: URL) throws -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TrainerError.io("cannot read \(url.path): \(error)") }
        do { return try JSONDecoder().decode(ModelConfig.self, from: data) } catch {
            throw TrainerError.invalidConfig("\(url.lastPathComponent): \(error)")
        }
    }

    /// The `config.json` HF transformers needs to load the model as `Qwen3ForCausalLM`.
    public func huggingFaceJSON(bosTokenID: Int? = nil, eosTokenID: Int? = nil) -> String {
        var fields: [(String, String)] = [
            ("architectures", "[\"Qwen3ForCausalLM\"]"), ("model_type", "\"qwen3\""),
            ("vocab_size", "\(vocabSize)"), ("hidden_size", "\(hiddenSize)"),
            ("intermediate_size", "\(intermediateSize)"), ("num_hidden_layers", "\(numHiddenLayers)"),
            ("num_attention_heads", "\(numAttentionHeads)"), ("num_key_value_heads", "\(numKeyValueHeads)"),
            ("head_dim", "\(headDim)"), ("rms_norm_eps", "\(rmsNormEps)"), ("rope_theta", "\(ropeTheta)"),
            ("tie_word_embeddings", tieWordEmbeddings ? "true" : "false"),
            ("max_position_embeddings", "\(maxPositionEmbeddings)"), ("hidden_act", "\"silu\""),
            ("attention_bias", "false"), ("attention_dropout", "0.0"), ("initializer_range", "0.02"),
            ("use_cache", "true"), ("use_sliding_window", "false"), ("rope_scaling", "null"),
            ("torch_dtype", "\"float32\""),
        ]
        if let bosTokenID { fields.append(("bos_token_id", "\(bosTokenID)")) }
        if let eosTokenID { fields.append(("eos_token_id", "\(eosTokenID)")) }
        return "{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}
