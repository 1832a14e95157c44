import Pipeline

/// Converts between a `shape` request message and the core's ``ShapeRequest``.
public enum ShapeRequestCodec {
    /// Validates a shape request (dtypes, shapes, limits, token ids, UTF-8) and builds the
    /// ``ShapeRequest``. `frames[0]` is the header frame; options absent from the header take
    /// their value from `defaults`.
    public static func decode(header h: RequestHeader, frames: [UnsafeRawBufferPointer], limits: WireLimits,
                              defaults: ShapeOptions = ShapeOptions()) throws -> ShapeRequest {
        guard h.op == .shape else { throw WireError(.badHeader, "not a shape request") }
        let t = IncomingTensors(frames: frames, descriptors: h.tensors)
        for d in h.tensors {
            guard let ok = RequestTensors.dtypes(for: d.name) else { throw WireError(.badHeader, "unknown tensor \"\(d.name)\"") }
            guard ok.contains(d.dtype) else {
                throw WireError(.dtype, "\(d.name): dtype \(d.dtype.rawValue) not accepted (use \(ok.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        guard let ids = t["input_ids"] else { throw WireError(.badHeader, "shape: missing tensor input_ids") }
        guard let mask = t["mask"] else { throw WireError(.badHeader, "shape: missing tensor mask") }
        guard ids.shape.count == 2 else { throw WireError(.shape, "input_ids must be [B,T], got \(ids.shape)") }
        let (b, len) = (ids.shape[0], ids.shape[1])
        guard b >= 1, len >= 1 else { throw WireError(.shape, "input_ids must be non-empty, got \(ids.shape)") }
        guard b <= limits.maxBatch else { throw WireError(.limit, "B = \(b) exceeds max_batch \(limits.maxBatch)") }
        let (bt, overflow) = b.multipliedReportingOverflow(by: len)
        guard !overflow, bt <= limits.maxTokens else { throw WireError(.limit, "B·T = \(b)·\(len) exceeds max_tokens \(limits.maxTokens)") }
        guard mask.shape == [b, len] else { throw WireError(.shape, "mask must be [\(b),\(len)], got \(mask.shape)") }
        let gts = h.groundTruth ?? []
        guard gts.count == b else { throw WireError(.shape, "ground_truth has \(gts.count) entries for B = \(b)") }
        if let tgt = h.turnGroundTruth, tgt.count != b {
            throw WireError(.shape, "turn_ground_truth has \(tgt.count) rows for B = \(b)")
        }

        let sources = ["entropy", "logits", "topk_logits"].filter { t[$0] != nil }
        guard sources.count <= 1 else { throw WireError(.badHeader, "send at most one of entropy, logits, topk_logits (got \(sources))") }
        for d in h.tensors { try t.checkBytes(d) }

        var entropy = EntropyInput.none
        if let e = t["entropy"] {
            guard e.shape == [b, len] else { throw WireError(.shape, "entropy must be [\(b),\(len)], got \(e.shape)") }
            entropy = .entropies(t.floats(e))
        } else if let l = t["logits"] {
            guard l.shape.count == 3, l.shape[0] == b, l.shape[1] == len else { throw WireError(.shape, "logits must be [\(b),\(len),V], got \(l.shape)") }
            guard l.shape[2] >= 1 else { throw WireError(.shape, "logits: V must be ≥ 1") }
            guard l.shape[2] <= limits.maxVocab else { throw WireError(.limit, "V = \(l.shape[2]) exceeds max_vocab \(limits.maxVocab)") }
            let dt: LogitsDType = l.dtype == .float32 ? .fp32 : (l.dtype == .bfloat16 ? .bf16 : .fp16)
            entropy = .logits(bytes: t.bytes(l), dtype: dt, vocab: l.shape[2])
        } else if let k = t["topk_logits"] {
            guard k.shape.count == 3, k.shape[0] == b, k.shape[1] == len, k.shape[2] >= 1 else {
                throw WireError(.shape, "topk_logits must be [\(b),\(len),K], got \(k.shape)")
            }
            guard let lse = t["logsumexp"] else { throw WireError(.badHeader, "topk_logits needs a logsumexp tensor") }
            guard lse.shape == [b, len] else { throw WireError(.shape, "logsumexp must be [\(b),\(len)], got \(lse.shape)") }
            guard let vocab = h.vocab else { throw WireError(.badHeader, "topk_logits needs \"vocab\" in the header") }
            guard vocab <= limits.maxVocab else { throw WireError(.limit, "vocab = \(vocab) exceeds max_vocab \(limits.maxVocab)") }
            guard k.shape[2] <= vocab else { throw WireError(.shape, "K = \(k.shape[2]) exceeds vocab \(vocab)") }
            entropy = .topK(logits: t.floats(k), k: k.shape[2], logsumexp: t.floats(lse), vocab: vocab)
        } else if t["logsumexp"] != nil {
            throw WireError(.badHeader, "logsumexp without topk_logits")
        }

        var prompts: [[Int32]]? = nil
        if let p = t["prompt_ids"] {
            guard let pl = t["prompt_lengths"] else { throw WireError(.badHeader, "prompt_ids needs prompt_lengths") }
            guard p.shape.count == 1, pl.shape == [b] else { throw WireError(.shape, "prompt_ids must be [N] and prompt_lengths [\(b)]") }
            let flat = try t.tokenIDs(p, bound: limits.vocabSize)
            let lens = try promptLengths(t.integers(pl), total: flat.count)
            var out: [[Int32]] = []; out.reserveCapacity(b)
            var at = 0
            for n in lens { out.append(Array(flat[at..<at + n])); at += n }
            prompts = out
        } else if t["prompt_lengths"] != nil {
            throw WireError(.badHeader, "prompt_lengths without prompt_ids")
        }

        let inputIDs = try t.tokenIDs(ids, bound: limits.vocabSize)
        let maskValues = t.floatsConverting(mask)
        if let i = maskValues.firstIndex(where: { !$0.isFinite }) {
            throw WireError(.value, "mask[\(i / len)][\(i % len)] = \(maskValues[i]) is not finite")
        }
        var opts = defaults
        if let o = h.options {
            if let p = o.profile { opts.profile = p }
            if let r = o.reward { opts.reward = r }
            if let f = o.rewardFlags { for x in f { opts.rewardFlags[x.name] = x.value } }
            if let s = o.schedule { opts.scheduleJSON = s }
            if let tmp = o.temperature {
                guard RequestHeader.isValidTemperature(tmp) else { throw WireError(.value, "options.temperature \(tmp) is not a usable float32 temperature") }
                opts.temperature = Float(tmp)
            }
            if let r = o.computeRewards { opts.computeRewards = r }
            if let x = o.computeWeights { opts.computeWeights = x }
            if let tr = o.turnReward, let a = TurnRewardAggregation(rawValue: tr) { opts.turnReward = a }
        }
        return ShapeRequest(inputIDs: inputIDs, mask: maskValues, batch: b, length: len,
                            groundTruths: gts, step: h.step ?? 0, entropy: entropy, promptIDs: prompts, options: opts,
                            turnGroundTruths: h.turnGroundTruth)
    }

    /// Prompt lengths, checked in integer arithmetic: each in `0...total`, the running sum never
    /// overflowing and ending at `total` (a wrong sum is a `shape` error, a bad value a `value` error).
    static func promptLengths(_ raw: [Int64], total: Int) throws -> [Int] {
        var out: [Int] = []; out.reserveCapacity(raw.count)
        var sum = 0
        for (i, v) in raw.enumerated() {
            guard v >= 0, v <= Int64(total) else { throw WireError(.value, "prompt_lengths[\(i)] = \(v) is outside 0...\(total) (N)") }
            let n = Int(v) // exact: 0 ≤ v ≤ total, an Int
            let (s, overflow) = sum.addingReportingOverflow(n)
            guard !overflow, s <= total else { throw WireError(.shape, "prompt_lengths sum past N = \(total) at [\(i)]") }
            sum = s
            out.append(n)
        }
        guard sum == total else { throw WireError(.shape, "prompt_lengths sum to \(sum), not N = \(total)") }
        return out
    }

    /// Encodes a request as a message (used by Swift clients, tests and the golden files).
    /// `options` is written as given (nil = omit, server defaults apply).
    public static func encode(_ r: ShapeRequest, id: Int, options: WireOptions? = nil,
                              idsDType: WireDType = .int32, maskDType: WireDType = .float32,
                              maxFrameBytes: Int = MessageBuilder.defaultMaxFrameBytes) -> [FrameBuffer] {
        var m = MessageBuilder(maxFrameBytes: maxFrameBytes)
        let bt = [r.batch, r.length]
        if idsDType == .int64 { m.append("input_ids", .int64, shape: bt, values: r.inputIDs.map(Int64.init)) }
        else { m.append("input_ids", .int32, shape: bt, values: r.inputIDs) }
        switch maskDType {
        case .uint8, .bool: m.append("mask", maskDType, shape: bt, values: r.mask.map { UInt8($0 != 0 ? 1 : 0) })
        case .int32: m.append("mask", .int32, shape: bt, values: r.mask.map { Int32($0) })
        case .int64: m.append("mask", .int64, shape: bt, values: r.mask.map { Int64($0) })
        default: m.append("mask", .float32, shape: bt, values: r.mask)
        }
        var vocab: Int? = nil
        switch r.entropy {
        case .none: break
        case .entropies(let e): m.append("entropy", .float32, shape: bt, values: e)
        case .logits(let bytes, let dtype, let v):
            let wd: WireDType = dtype == .fp32 ? .float32 : (dtype == .bf16 ? .bfloat16 : .float16)
            m.append("logits", wd, shape: bt + [v], values: bytes)
        case .topK(let logits, let k, let lse, let v):
            m.append("topk_logits", .float32, shape: bt + [k], values: logits)
            m.append("logsumexp", .float32, shape: bt, values: lse)
            vocab = v
        }
        if let p = r.promptIDs {
            let flat = p.flatMap { $0 }
            m.append("prompt_ids", .int32, shape: [flat.count], values: flat)
            m.append("prompt_lengths", .int64, shape: [r.batch], values: p.map { Int64($0.count) })
        }
        let h = RequestHeader(op: .shape, id: id, step: r.step, vocab: vocab, groundTruth: r.groundTruths,
                              turnGroundTruth: r.turnGroundTruths, options: options, tensors: m.tensors)
        return m.finish(header: h.encode())
    }
}
