import Entropy
import Synchronization
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
    /// A number out of its range or not finite (NaN/±inf entropies or logits, a temperature the
    /// kernels cannot use, entropies that came out non-finite).
    case value(String)
    /// The request was cancelled (its deadline passed) before it finished.
    case cancelled

    /// The typed error code of the wire protocol.
    public var code: String {
        switch self {
        case .shape: return "shape"
        case .tokenID: return "token_id"
        case .utf8: return "utf8"
        case .options: return "bad_header"
        case .entropy: return "dtype"
        case .value: return "value"
        case .cancelled: return "timeout"
        }
    }

    public var description: String {
        switch self {
        case .shape(let m): return "shape: \(m)"
        case .tokenID(let r, let p, let id): return "unknown token id \(id) at row \(r), position \(p)"
        case .utf8(let m): return "invalid UTF-8: \(m)"
        case .options(let m): return "bad options: \(m)"
        case .entropy(let m): return "entropy: \(m)"
        case .value(let m): return "value: \(m)"
        case .cancelled: return "cancelled at its deadline"
        }
    }
}

/// The shaping core behind every transport: decodes each rollout's exact bytes, categorises its
/// tokens, applies the weight profile and the ToolRL reward, and gathers batch statistics.
///
/// Rows are independent and run on `threads` workers. The only mutable state is the entropy
/// curriculum (``EntropyScheduleState``), advanced once per batch that carries entropies when the
/// schedule uses it; it can be read (to save in a capture), restored and reset.
public final class ShapingEngine: Shaper {
    /// Decodes each row's tokens to their exact bytes.
    public let tokenizer: Tokenizer
    /// The schedule every request uses unless its options carry their own.
    public let config: ShapingConfig
    /// Worker threads for the rows of a batch (resolved: never 0).
    public let threads: Int
    /// Computes entropies from full logits; nil uses the CPU kernels (``EntropyKernel``).
    public let logitsEntropy: (any LogitsEntropyComputer)?
    private let parser: RegionParser
    private let isAdded: [Bool]
    /// Where the entropy curriculum's state lives (this engine's own, or a supervisor's).
    public let curriculum: any EntropyCurriculum
    private let localCurriculum: LocalEntropyCurriculum?

    /// `curriculum`: nil keeps the curriculum in this engine; a sidecar worker process passes
    /// its supervisor's, so every worker advances the same one.
    public init(tokenizer: Tokenizer, config: ShapingConfig = ShapingConfig(), threads: Int = 0,
                logitsEntropy: (any LogitsEntropyComputer)? = nil, curriculum: (any EntropyCurriculum)? = nil) {
        self.tokenizer = tokenizer
        self.config = config
        self.threads = ParallelRows.resolve(threads)
        self.logitsEntropy = logitsEntropy
        self.parser = RegionParser(options: config.regionOptions)
        self.isAdded = (0..<tokenizer.vocabSize).map { tokenizer.isAddedToken(Int32($0)) }
        if let curriculum {
            self.curriculum = curriculum; localCurriculum = nil
        } else {
            let local = LocalEntropyCurriculum()
            self.curriculum = local; localCurriculum = local
        }
    }

    /// The entropy curriculum's state (saved in captures; restored with ``restoreEntropySchedule(_:)``);
    /// the initial state when the curriculum lives elsewhere.
    public var entropySchedule: EntropyScheduleState { localCurriculum?.current ?? EntropyScheduleState() }
    /// Replaces the entropy curriculum's state (when it lives in this engine).
    public func restoreEntropySchedule(_ state: EntropyScheduleState) { localCurriculum?.restore(state) }
    /// Resets the entropy curriculum (when it lives in this engine).
    public func resetEntropySchedule() { localCurriculum?.reset() }

    /// Shapes one batch: weights, categories, rewards, statuses and statistics. Throws ``ShapeError`` for a request that cannot be shaped as a whole (bad shapes, unknown token ids, bad options, bad entropies, cancellation); a row that cannot be parsed falls back per row (``RolloutStatus``).
    public func shape(_ request: ShapeRequest) throws -> ShapeResult {
        let (b, t) = (request.batch, request.length)
        try validate(request)
        var shapingConfig = config
        if let json = request.options.scheduleJSON {
            do { shapingConfig = try ShapingConfig.fromJSON(json) } catch { throw ShapeError.options("schedule: \(error)") }
        }
        let profile: any WeightProfile
        do { profile = try ProfileRegistry.make(request.options.profile, config: shapingConfig) }
        catch { throw ShapeError.options("profile '\(request.options.profile)': \(error)") }
        let reward: any RewardFunction
        do { reward = try RewardRegistry.make(request.options.reward, options: RewardOptions(flags: request.options.rewardFlags)) }
        catch { throw ShapeError.options("reward '\(request.options.reward)': \(error)") }
        let layouts = try turnLayouts(request)
        let entropies = try computeEntropies(request)
        if request.cancellation?.isCancelled == true { throw ShapeError.cancelled }

        var weights = [Float](repeating: 0, count: b * t)
        var categories = [UInt8](repeating: 0, count: b * t)
        var rewards = [Float](repeating: 0, count: b)
        var components = [Float](repeating: 0, count: b * 4)
        var status = [RolloutStatus](repeating: .ok, count: b)
        var rowErrors = [ShapeError?](repeating: nil, count: b)
        var turnScores = [[Float]](repeating: [], count: b)

        // Pass 1: each row decoded once into a buffer reused from row to row; its categories (turn
        // by turn) and its reward read the same bytes. Categories of the whole batch come before any
        // weight because the entropy curriculum needs the batch's region means.
        request.inputIDs.withUnsafeBufferPointer { ids in
        categories.withUnsafeMutableBufferPointer { cat in
        rowErrors.withUnsafeMutableBufferPointer { fe in
        rewards.withUnsafeMutableBufferPointer { rew in
        components.withUnsafeMutableBufferPointer { comp in
        status.withUnsafeMutableBufferPointer { st in
        turnScores.withUnsafeMutableBufferPointer { ts in
            let shared = UncheckedBox((ids, cat, fe, rew, comp, st, ts))
            ParallelRows.forEach(count: b, threads: threads) { rows in
                let (ids, cat, fe, rew, comp, st, ts) = shared.value
                var scratch = RowScratch()
                for r in rows {
                    if request.cancellation?.isCancelled == true { break } // a row boundary
                    let rowIDs = UnsafeBufferPointer(rebasing: ids[r * t ..< r * t + t])
                    do {
                        try scratch.decoded.load(rowIDs, tokenizer: self.tokenizer)
                        try layouts[r].categorize(into: UnsafeMutableBufferPointer(rebasing: cat[r * t ..< r * t + t])) { seg, out in
                            self.categorize(ids: rowIDs, segment: seg, scratch: &scratch, into: out)
                        }
                    } catch {
                        fe[r] = error as? ShapeError ?? .tokenID(row: r, position: 0, id: -1)
                        continue
                    }
                    guard request.options.computeRewards else { continue }
                    let scored = self.reward(row: r, ids: rowIDs, layout: layouts[r], request: request, reward: reward, scratch: &scratch)
                    let c = scored.total
                    rew[r] = Float(c.score)
                    comp[r * 4 + 0] = Float(c.format); comp[r * 4 + 1] = Float(c.correctness)
                    comp[r * 4 + 2] = Float(c.length); comp[r * 4 + 3] = Float(c.score)
                    ts[r] = scored.turnScores
                    if let e = scored.error { st[r] = RolloutStatus(code: "reward_error", message: e) }
                }
            }
        }}}}}}}
        if request.cancellation?.isCancelled == true { throw ShapeError.cancelled }
        if let err = rowErrors.lazy.compactMap({ $0 }).first { throw err }

        let step = try shapingStep(step: request.step, config: shapingConfig, categories: categories,
                                   mask: request.mask, entropies: entropies)
        let gammas = profile.gammas(at: step)

        // Pass 2: weights per row (a weight fallback's status takes precedence over a reward error's).
        if request.options.computeWeights {
            request.inputIDs.withUnsafeBufferPointer { ids in
            request.mask.withUnsafeBufferPointer { mask in
            weights.withUnsafeMutableBufferPointer { w in
            categories.withUnsafeBufferPointer { cat in
            status.withUnsafeMutableBufferPointer { st in
                let out = UncheckedBox((ids, mask, w, cat, st))
                let ent = entropies.map { UncheckedBox($0) }
                ParallelRows.forEach(count: b, threads: threads) { rows in
                    let (ids, mask, w, cat, st) = out.value
                    for r in rows {
                        if request.cancellation?.isCancelled == true { break } // a row boundary
                        let span = r * t ..< r * t + t
                        let outcome: RowOutcome = withOptionalRows(ent?.value, span) { rowEnt in
                            let row = RolloutRow(ids: UnsafeBufferPointer(rebasing: ids[span]), mask: UnsafeBufferPointer(rebasing: mask[span]),
                                                 categories: UnsafeBufferPointer(rebasing: cat[span]), entropies: rowEnt, codec: self.tokenizer)
                            return profile.weights(row: row, gammas: gammas, into: UnsafeMutableBufferPointer(rebasing: w[span]))
                        }
                        if let err = outcome.error { st[r] = RolloutStatus(code: err.code, message: "\(err) (weights fell back to the mask)") }
                    }
                }
            }}}}}
        }

        if request.cancellation?.isCancelled == true { throw ShapeError.cancelled }
        var metrics = BatchStatistics.compute(categories: categories, weights: weights, mask: request.mask,
                                              entropies: entropies, rewards: rewards)
        if request.options.computeWeights && profile.name != "uniform" {
            for c in TokenCategory.allCases where gammas[c] != 0 { metrics.gammas[c.name] = Double(gammas[c]) }
        }
        if shapingConfig.usesEntropySchedule { metrics.entropyProgress = step.entropyProgress }
        return ShapeResult(weights: weights, rewards: rewards, components: components, categories: categories,
                           rolloutStatus: status, entropies: entropies, metrics: metrics,
                           turns: Self.turnTable(layouts: layouts, scores: turnScores))
    }

    // MARK: - Steps

    private func validate(_ r: ShapeRequest) throws {
        guard r.batch >= 0, r.length >= 0 else { throw ShapeError.shape("negative batch or length") }
        let (n, overflow) = r.batch.multipliedReportingOverflow(by: r.length)
        guard !overflow else { throw ShapeError.shape("batch × length overflows") }
        guard r.inputIDs.count == n else { throw ShapeError.shape("input_ids has \(r.inputIDs.count) elements, expected \(r.batch)×\(r.length)") }
        guard r.mask.count == n else { throw ShapeError.shape("mask has \(r.mask.count) elements, expected \(r.batch)×\(r.length)") }
        guard r.groundTruths.count == r.batch else { throw ShapeError.shape("\(r.groundTruths.count) ground truths for \(r.batch) rollouts") }
        if let p = r.promptIDs, p.count != r.batch { throw ShapeError.shape("\(p.count) prompts for \(r.batch) rollouts") }
        if let i = r.inputIDs.withUnsafeBufferPointer({ tokenizer.firstUnknownID(in: $0) }) {
            throw ShapeError.tokenID(row: i / max(r.length, 1), position: i % max(r.length, 1), id: r.inputIDs[i])
        }
        for (row, prompt) in (r.promptIDs ?? []).enumerated() {
            for (p, id) in prompt.enumerated() where !tokenizer.contains(id) { throw ShapeError.tokenID(row: row, position: p, id: id) }
        }
    }

    /// The turns of every row; checks `turnGroundTruths` against them (one entry per turn).
    private func turnLayouts(_ r: ShapeRequest) throws -> [TurnLayout] {
        let layouts = r.mask.withUnsafeBufferPointer { m in
            (0..<r.batch).map { TurnLayout(mask: UnsafeBufferPointer(rebasing: m[$0 * r.length ..< ($0 + 1) * r.length])) }
        }
        if let tgt = r.turnGroundTruths {
            guard tgt.count == r.batch else { throw ShapeError.shape("turn_ground_truth has \(tgt.count) rows for \(r.batch) rollouts") }
            for (row, l) in layouts.enumerated() where tgt[row].count != l.turns.count {
                throw ShapeError.shape("turn_ground_truth[\(row)] has \(tgt[row].count) entries, row \(row) has \(l.turns.count) turns")
            }
        }
        return layouts
    }

    /// `turn_rewards` / `turn_ends` `[B, K]`, K = the most turns of any row; nil when no row has
    /// more than one turn.
    static func turnTable(layouts: [TurnLayout], scores: [[Float]]) -> TurnRewards? {
        let k = layouts.map(\.turns.count).max() ?? 0
        guard k > 1 else { return nil }
        var rewards = [Float](repeating: 0, count: layouts.count * k)
        var ends = [Int32](repeating: -1, count: layouts.count * k)
        for (r, l) in layouts.enumerated() {
            for (j, turn) in l.turns.enumerated() {
                ends[r * k + j] = Int32(truncatingIfNeeded: turn.upperBound - 1)
                if j < scores[r].count { rewards[r * k + j] = scores[r][j] }
            }
        }
        return TurnRewards(k: k, rewards: rewards, ends: ends)
    }

    private func computeEntropies(_ r: ShapeRequest) throws -> [Float]? {
        let n = r.batch * r.length
        var out = [Float](repeating: 0, count: n)
        do {
            switch r.entropy {
            case .none:
                return nil
            case .entropies(let e):
                guard e.count == n else { throw ShapeError.shape("entropies has \(e.count) elements, expected \(n)") }
                try e.withUnsafeBufferPointer { g in try out.withUnsafeMutableBufferPointer { try EntropyKernel.passThrough(g, into: $0) } }
            case .logits(let bytes, let dtype, let vocab):
                let (elements, o1) = n.multipliedReportingOverflow(by: vocab)
                let (expected, o2) = elements.multipliedReportingOverflow(by: dtype.byteWidth)
                guard vocab > 0, !o1, !o2, bytes.count == expected else {
                    throw ShapeError.shape("logits have \(bytes.count) bytes, expected \(n)×\(vocab)×\(dtype.byteWidth)")
                }
                if let gpu = logitsEntropy {
                    out = try bytes.withUnsafeBytes { try gpu.entropies(logits: $0, dtype: dtype, rows: n, vocab: vocab, temperature: r.options.temperature) }
                } else {
                    // Chunks of whole batch rows (≥ 2^24 logits, so each call still spreads over the
                    // threads): a cancelled request stops at the next chunk.
                    let rowBytes = vocab * dtype.byteWidth
                    let chunk = max(1, (1 << 24) / max(1, r.length * vocab)) * max(1, r.length)
                    try bytes.withUnsafeBytes { raw in
                        try out.withUnsafeMutableBufferPointer { o in
                            var lo = 0
                            while lo < n {
                                if r.cancellation?.isCancelled == true { throw ShapeError.cancelled }
                                let hi = min(n, lo + chunk)
                                try EntropyKernel.entropies(logits: UnsafeRawBufferPointer(rebasing: raw[lo * rowBytes ..< hi * rowBytes]),
                                                            dtype: dtype, rows: hi - lo, vocab: vocab, temperature: r.options.temperature,
                                                            threads: threads, into: UnsafeMutableBufferPointer(rebasing: o[lo ..< hi]))
                                lo = hi
                            }
                        }
                    }
                }
            case .topK(let logits, let k, let lse, let vocab):
                let (elements, overflow) = n.multipliedReportingOverflow(by: k)
                guard k > 0, !overflow, logits.count == elements, lse.count == n else {
                    throw ShapeError.shape("top-k logits must be [B,T,K] and logsumexp [B,T]")
                }
                // The full row's log-sum-exp is at least its largest logit; one below it (beyond
                // float rounding) would make the top probabilities sum past 1 and H negative.
                for row in 0..<n {
                    var top = -Float.infinity
                    for i in row * k ..< row * k + k where logits[i] > top { top = logits[i] }
                    let l = lse[row]
                    if top.isFinite, l.isFinite, l < top - 1e-5 * max(1, abs(top)) {
                        throw ShapeError.value("logsumexp \(l) of row \(row / max(r.length, 1)), position \(row % max(r.length, 1)) is below its largest top-k logit \(top)")
                    }
                }
                try logits.withUnsafeBufferPointer { l in
                    try lse.withUnsafeBufferPointer { s in
                        try out.withUnsafeMutableBufferPointer { o in
                            try EntropyKernel.entropiesTopK(topLogits: l, k: k, logsumexp: s, vocab: vocab, rows: n, into: o, bounds: nil)
                        }
                    }
                }
            }
        } catch let e as ShapeError {
            throw e
        } catch let e as EntropyError {
            switch e {
            case .nonFinite, .allMasked, .temperature, .invalidEntropy: throw ShapeError.value("entropy: \(e)")
            case .shape(let m): throw ShapeError.shape("entropy: \(m)")
            case .file: throw ShapeError.entropy("\(e)")
            }
        } catch {
            throw ShapeError.entropy("\(error)")
        }
        // Finite logits can still give a non-finite entropy (a temperature so small that x/τ
        // overflows, a log-sum-exp below the top logits): nothing non-finite reaches the weights.
        if let i = out.firstIndex(where: { !$0.isFinite }) {
            throw ShapeError.value("the entropy of row \(i / max(r.length, 1)), position \(i % max(r.length, 1)) is \(out[i]) (logits, log-sum-exp or temperature out of range)")
        }
        return out
    }

    /// The batch's ``ShapingStep``: the step, plus the entropy curriculum's progress when the
    /// schedule uses it and the batch carries entropies (the state advances once per such batch).
    private func shapingStep(step: Int, config: ShapingConfig, categories: [UInt8], mask: [Float], entropies: [Float]?) throws -> ShapingStep {
        guard config.usesEntropySchedule else { return ShapingStep(step: step) }
        var mean: Double? = nil
        if let entropies {
            let stats = categories.withUnsafeBufferPointer { c in
                mask.withUnsafeBufferPointer { m in entropies.withUnsafeBufferPointer { RegionEntropyStats(categories: c, mask: m, entropies: $0) } }
            }
            mean = stats.mean(TokenCategory(name: config.entropySchedule.region) ?? .thinkContent)
        }
        return ShapingStep(step: step, entropyProgress: try curriculum.advance(observing: mean, config: config.entropySchedule))
    }

    /// Categories of the tokens `segment` of a row already decoded into `scratch`.
    private func categorize(ids: UnsafeBufferPointer<Int32>, segment: Range<Int>, scratch: inout RowScratch,
                            into categories: UnsafeMutableBufferPointer<UInt8>) {
        if scratch.added.count < segment.count { scratch.added = [Bool](repeating: false, count: max(segment.count, 2 * scratch.added.count)) }
        scratch.added.withUnsafeMutableBufferPointer { a in
            for (k, i) in segment.enumerated() { a[k] = isAdded[Int(ids[i])] }
        }
        let added = scratch.added
        scratch.decoded.withTokens(segment) { bytes, starts in
            added.withUnsafeBufferPointer { a in
                parser.categorize(bytes: bytes, tokenStarts: starts, isAdded: UnsafeBufferPointer(rebasing: a[0 ..< segment.count]), into: categories)
            }
        }
    }

    /// The ToolRL reward of one rollout, turn by turn (``scoreTurns``): the reference scores the last
    /// assistant turn of prompt + decoded response tokens; a turn is scored as such a response
    /// (`<|im_start|>assistant\n` + its tokens, or the prompt + its tokens for the first turn).
    private func reward(row: Int, ids: UnsafeBufferPointer<Int32>, layout: TurnLayout, request: ShapeRequest,
                        reward: any RewardFunction, scratch: inout RowScratch) -> RowReward {
        scoreTurns(layout: layout, groundTruth: request.groundTruths[row], turnGroundTruths: request.turnGroundTruths?[row],
                   aggregation: request.options.turnReward) { turn, truth in
            var solution = scratch.solution   // the buffer moves out and back: no copy, no allocation
            scratch.solution = []
            defer { scratch.solution = solution }
            solution.removeAll(keepingCapacity: true)
            if turn.lowerBound == (layout.turns.first?.lowerBound ?? 0), let prompt = request.promptIDs?[row] {
                solution.append(contentsOf: try tokenizer.decode(prompt, skipSpecialTokens: false).utf8)
            } else {
                solution.append(contentsOf: Self.assistantHeader)
            }
            try scratch.decoded.withDecodedText(turn, ids: ids, tokenizer: tokenizer) { solution.append(contentsOf: $0) }
            return try reward.score(solutionUTF8: solution[...], groundTruth: truth, step: request.step)
        }
    }

    private static let assistantHeader = Array("<|im_start|>assistant\n".utf8)
}

/// Per-worker buffers of pass 1, reused from row to row.
private struct RowScratch {
    var decoded = TokenByteBuffer()
    var added: [Bool] = []
    var solution: [UInt8] = []
}

/// Calls `body` with the `span` rows of an optional flat buffer.
private func withOptionalRows<R>(_ flat: [Float]?, _ span: Range<Int>, _ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
    guard let flat else { return body(nil) }
    return flat.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[span])) }
}

/// Entropies of full logits rows computed somewhere other than the CPU kernels (e.g. the GPU
/// when the sidecar shares a box with the trainer). Must be safe to call from several threads.
public protocol LogitsEntropyComputer: Sendable {
    func entropies(logits: UnsafeRawBufferPointer, dtype: LogitsDType, rows: Int, vocab: Int, temperature: Float) throws -> [Float]
}
