import Entropy
import PyJSON
import Regions
import Rewards
import Shaping
import Tokenization

/// Errors that reject a whole request (as opposed to a per-rollout ``RolloutStatus``).
/// Each carries the wire error code the sidecar replies with.
public enum ShapeError: Error, CustomStringConvertible, Equatable {
    case shape(String)
    case tokenID(row: Int, position: Int, id: Int32)
    case utf8(String)
    case options(String)
    case entropy(String)

    /// The typed error code of the wire protocol.
    public var code: String {
        switch self {
        case .shape: return "shape"
        case .tokenID: return "token_id"
        case .utf8: return "utf8"
        case .options: return "bad_header"
        case .entropy: return "dtype"
        }
    }

    public var description: String {
        switch self {
        case .shape(let m): return "shape: \(m)"
        case .tokenID(let r, let p, let id): return "unknown token id \(id) at row \(r), position \(p)"
        case .utf8(let m): return "invalid UTF-8: \(m)"
        case .options(let m): return "bad options: \(m)"
        case .entropy(let m): return "entropy: \(m)"
        }
    }
}

/// The shaping core behind every transport: decodes each rollout's exact bytes, categorises its
/// tokens, applies the weight profile and the ToolRL reward, and gathers batch statistics.
///
/// Rows are independent and run on `threads` workers. The engine is immutable apart from the
/// entropy-schedule state, which belongs to the caller (see ``Shaping``).
public final class ShapingEngine: Shaper {
    public let tokenizer: Tokenizer
    public let config: ShapingConfig
    public let threads: Int
    private let imStart: Int32?
    private let imEnd: Int32?

    public init(tokenizer: Tokenizer, config: ShapingConfig = ShapingConfig(), threads: Int = 0) {
        self.tokenizer = tokenizer
        self.config = config
        self.threads = ParallelRows.resolve(threads)
        self.imStart = tokenizer.id(forAddedToken: "<|im_start|>")
        self.imEnd = tokenizer.id(forAddedToken: "<|im_end|>")
    }

    public func shape(_ request: ShapeRequest) throws -> ShapeResult {
        let (b, t) = (request.batch, request.length)
        try validate(request)
        let shapingConfig = try request.options.scheduleJSON.map { try ShapingConfig(json: $0) } ?? config
        let profile: any WeightProfile
        do { profile = try ProfileRegistry.make(request.options.profile, config: shapingConfig) }
        catch { throw ShapeError.options("profile '\(request.options.profile)': \(error)") }
        let reward: any RewardFunction
        do { reward = try RewardRegistry.make(request.options.reward, options: RewardOptions(flags: request.options.rewardFlags)) }
        catch { throw ShapeError.options("reward '\(request.options.reward)': \(error)") }
        let entropies = try computeEntropies(request)

        var weights = [Float](repeating: 0, count: b * t)
        var categories = [UInt8](repeating: 0, count: b * t)
        var rewards = [Float](repeating: 0, count: b)
        var components = [Float](repeating: 0, count: b * 4)
        var status = [RolloutStatus](repeating: .ok, count: b)
        var firstError = [ShapeError?](repeating: nil, count: b)

        request.inputIDs.withUnsafeBufferPointer { ids in
        request.mask.withUnsafeBufferPointer { mask in
        weights.withUnsafeMutableBufferPointer { w in
        categories.withUnsafeMutableBufferPointer { cat in
        rewards.withUnsafeMutableBufferPointer { rew in
        components.withUnsafeMutableBufferPointer { comp in
        status.withUnsafeMutableBufferPointer { st in
        firstError.withUnsafeMutableBufferPointer { fe in
            let out = UncheckedBox((w, cat, rew, comp, st, fe))
            let ent = entropies.map { UncheckedBox($0) }
            ParallelRows.forEach(count: b, threads: threads) { rows in
                let (w, cat, rew, comp, st, fe) = out.value
                for r in rows {
                    let lo = r * t
                    let rowIDs = UnsafeBufferPointer(rebasing: ids[lo..<lo + t])
                    let rowMask = UnsafeBufferPointer(rebasing: mask[lo..<lo + t])
                    let rowW = UnsafeMutableBufferPointer(rebasing: w[lo..<lo + t])
                    let rowCat = UnsafeMutableBufferPointer(rebasing: cat[lo..<lo + t])
                    do {
                        if request.options.computeWeights {
                        let outcome = try self.shapeRow(ids: rowIDs, mask: rowMask, entropies: ent.map { UnsafeBufferPointer(rebasing: $0.value[lo..<lo + t]) },
                                                        step: request.step, profile: profile, weights: rowW, categories: rowCat)
                        if case .fellBack(let err) = outcome {
                            st[r] = RolloutStatus(code: "profile_fallback", message: "\(err)")
                        }
                        } else {
                            try self.categorize(ids: rowIDs, categories: rowCat)
                        }
                        guard request.options.computeRewards else { continue }
                        let rc = self.reward(row: r, ids: rowIDs, mask: rowMask, request: request, reward: reward)
                        switch rc {
                        case .success(let c):
                            rew[r] = Float(c.score)
                            comp[r * 4 + 0] = Float(c.format); comp[r * 4 + 1] = Float(c.correctness)
                            comp[r * 4 + 2] = Float(c.length); comp[r * 4 + 3] = Float(c.score)
                        case .failure(let e):
                            st[r] = RolloutStatus(code: "reward_error", message: "\(e)")
                        }
                    } catch let e as ShapeError {
                        fe[r] = e
                    } catch {
                        fe[r] = .shape("\(error)")
                    }
                }
            }
        }}}}}}}}
        if let err = firstError.compactMap({ $0 }).first { throw err }

        let metrics = BatchStatistics.compute(categories: categories, weights: weights, mask: request.mask,
                                              entropies: entropies, rewards: rewards)
        return ShapeResult(weights: weights, rewards: rewards, components: components, categories: categories,
                           rolloutStatus: status, entropies: entropies, metrics: metrics)
    }

    // MARK: - Steps

    private func validate(_ r: ShapeRequest) throws {
        guard r.batch >= 0, r.length >= 0 else { throw ShapeError.shape("negative batch or length") }
        let n = r.batch * r.length
        guard r.inputIDs.count == n else { throw ShapeError.shape("input_ids has \(r.inputIDs.count) elements, expected \(r.batch)×\(r.length)") }
        guard r.mask.count == n else { throw ShapeError.shape("mask has \(r.mask.count) elements, expected \(r.batch)×\(r.length)") }
        guard r.groundTruths.count == r.batch else { throw ShapeError.shape("\(r.groundTruths.count) ground truths for \(r.batch) rollouts") }
        if let p = r.promptIDs, p.count != r.batch { throw ShapeError.shape("\(p.count) prompts for \(r.batch) rollouts") }
        let vocab = Int32(tokenizer.vocabSize)
        for (i, id) in r.inputIDs.enumerated() where id < 0 || id >= vocab {
            throw ShapeError.tokenID(row: i / max(r.length, 1), position: i % max(r.length, 1), id: id)
        }
        for (row, prompt) in (r.promptIDs ?? []).enumerated() {
            for (p, id) in prompt.enumerated() where id < 0 || id >= vocab { throw ShapeError.tokenID(row: row, position: p, id: id) }
        }
    }

    private func computeEntropies(_ r: ShapeRequest) throws -> [Float]? {
        let n = r.batch * r.length
        switch r.entropy {
        case .none:
            return nil
        case .entropies(let e):
            guard e.count == n else { throw ShapeError.shape("entropies has \(e.count) elements, expected \(n)") }
            return e
        case .logits(let bytes, let dtype, let vocab):
            guard vocab > 0, bytes.count == n * vocab * dtype.byteWidth else {
                throw ShapeError.shape("logits have \(bytes.count) bytes, expected \(n)×\(vocab)×\(dtype.byteWidth)")
            }
            var out = [Float](repeating: 0, count: n)
            do {
                try bytes.withUnsafeBytes { raw in
                    try out.withUnsafeMutableBufferPointer { o in
                        try EntropyKernel.entropies(logits: raw, dtype: dtype, rows: n, vocab: vocab,
                                                    temperature: r.options.temperature, threads: threads, into: o)
                    }
                }
            } catch { throw ShapeError.entropy("\(error)") }
            return out
        case .topK(let logits, let k, let lse, let vocab):
            guard k > 0, logits.count == n * k, lse.count == n else {
                throw ShapeError.shape("top-k logits must be [B,T,K] and logsumexp [B,T]")
            }
            var out = [Float](repeating: 0, count: n)
            do {
                try logits.withUnsafeBufferPointer { l in
                    try lse.withUnsafeBufferPointer { s in
                        try out.withUnsafeMutableBufferPointer { o in
                            try EntropyKernel.entropiesTopK(topLogits: l, k: k, logsumexp: s, vocab: vocab, rows: n, into: o, bounds: nil)
                        }
                    }
                }
            } catch { throw ShapeError.entropy("\(error)") }
            return out
        }
    }

    private func categorize(ids: UnsafeBufferPointer<Int32>, categories: UnsafeMutableBufferPointer<UInt8>) throws {
        let decoded = try tokenizer.decodeBytes(ids)
        RegionParser.categorize(decoded: decoded, tokenizer: tokenizer, into: categories)
    }

    /// Categories and weights of one row.
    private func shapeRow(ids: UnsafeBufferPointer<Int32>, mask: UnsafeBufferPointer<Float>,
                          entropies: UnsafeBufferPointer<Float>?, step: Int, profile: any WeightProfile,
                          weights: UnsafeMutableBufferPointer<Float>, categories: UnsafeMutableBufferPointer<UInt8>) throws -> RowOutcome {
        let decoded = try tokenizer.decodeBytes(ids)
        RegionParser.categorize(decoded: decoded, tokenizer: tokenizer, into: categories)
        let row = RolloutRow(ids: ids, mask: mask, categories: UnsafeBufferPointer(categories), tokenizer: tokenizer,
                             decoded: decoded, entropies: entropies)
        return profile.weights(row: row, step: step, into: weights)
    }

    /// The ToolRL reward of one rollout: the reference scores the last assistant turn of
    /// prompt + decoded valid response tokens.
    private func reward(row: Int, ids: UnsafeBufferPointer<Int32>, mask: UnsafeBufferPointer<Float>,
                        request: ShapeRequest, reward: any RewardFunction) -> Result<RewardComponents, Error> {
        Result {
            var valid: [Int32] = []
            valid.reserveCapacity(ids.count)
            for i in 0..<ids.count where mask[i] != 0 { valid.append(ids[i]) }
            let response = try tokenizer.decode(valid, skipSpecialTokens: false)
            let prefix: String
            if let prompt = request.promptIDs?[row] { prefix = try tokenizer.decode(prompt, skipSpecialTokens: false) }
            else { prefix = "<|im_start|>assistant\n" }
            return try reward.score(solution: prefix + response, groundTruth: request.groundTruths[row], step: request.step)
        }
    }
}
