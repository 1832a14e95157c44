import Pipeline

/// A decoded shape reply: the header plus its tensors (empty on an error reply).
public struct ShapeReply: Sendable {
    public var header: ReplyHeader
    public var batch: Int
    public var length: Int
    /// fp32 [B,T].
    public var weights: [Float]
    /// fp32 [B].
    public var rewards: [Float]
    /// fp32 [B,4]: format, correctness, length, score.
    public var components: [Float]
    /// uint8 [B,T] token categories.
    public var categories: [UInt8]
    /// fp32 [B,T], present when the request carried logits or top-k logits.
    public var entropies: [Float]?
    /// `turn_rewards` fp32 [B,K] and `turn_ends` int32 [B,K], present when some row has more than one turn.
    public var turns: TurnRewards?

    public init(header: ReplyHeader, batch: Int, length: Int, weights: [Float], rewards: [Float],
                components: [Float], categories: [UInt8], entropies: [Float]?, turns: TurnRewards? = nil) {
        self.header = header; self.batch = batch; self.length = length; self.weights = weights
        self.rewards = rewards; self.components = components; self.categories = categories; self.entropies = entropies
        self.turns = turns
    }

    /// The reply for a computed result.
    public init(result r: ShapeResult, id: Int, batch: Int, length: Int, computeMicros: Int?, includeEntropies: Bool) {
        var h = ReplyHeader(op: WireOp.shape.rawValue, id: id)
        h.computeMicros = computeMicros
        h.rollouts = r.rolloutStatus
        h.metrics = WireMetrics(r.metrics)
        self.init(header: h, batch: batch, length: length, weights: r.weights, rewards: r.rewards,
                  components: r.components, categories: r.categories, entropies: includeEntropies ? r.entropies : nil,
                  turns: r.turns)
    }
}

/// Encodes and decodes shape replies.
public enum ShapeReplyCodec {
    /// Tensor order of an ok reply: weights, rewards, components, categories, [entropy],
    /// [turn_rewards, turn_ends].
    public static func encode(_ r: ShapeReply, maxFrameBytes: Int = MessageBuilder.defaultMaxFrameBytes) -> [FrameBuffer] {
        guard r.header.isOK else { return [FrameBuffer(bytes: r.header.encode())] }
        var m = MessageBuilder(maxFrameBytes: maxFrameBytes)
        let bt = [r.batch, r.length]
        m.append("weights", .float32, shape: bt, values: r.weights)
        m.append("rewards", .float32, shape: [r.batch], values: r.rewards)
        m.append("components", .float32, shape: [r.batch, 4], values: r.components)
        m.append("categories", .uint8, shape: bt, values: r.categories)
        if let e = r.entropies { m.append("entropy", .float32, shape: bt, values: e) }
        if let tr = r.turns {
            m.append("turn_rewards", .float32, shape: [r.batch, tr.k], values: tr.rewards)
            m.append("turn_ends", .int32, shape: [r.batch, tr.k], values: tr.ends)
        }
        var h = r.header
        h.tensors = m.tensors
        return m.finish(header: h.encode())
    }

    /// Decodes any reply to a shape request (an error reply gives empty tensors).
    public static func decode(_ frames: [UnsafeRawBufferPointer]) throws -> ShapeReply {
        guard let first = frames.first else { throw WireError(.badHeader, "empty message") }
        let h = try ReplyHeader.decode(first, frameCount: frames.count)
        guard h.isOK else { return ShapeReply(header: h, batch: 0, length: 0, weights: [], rewards: [], components: [], categories: [], entropies: nil) }
        let t = IncomingTensors(frames: frames, descriptors: h.tensors)
        for d in h.tensors { try t.checkBytes(d) }
        func need(_ name: String, _ dtype: WireDType) throws -> TensorDescriptor {
            guard let d = t[name] else { throw WireError(.badHeader, "reply lacks \(name)") }
            guard d.dtype == dtype else { throw WireError(.dtype, "\(name) must be \(dtype.rawValue)") }
            return d
        }
        let w = try need("weights", .float32)
        guard w.shape.count == 2 else { throw WireError(.shape, "weights must be [B,T]") }
        let (b, len) = (w.shape[0], w.shape[1])
        let rw = try need("rewards", .float32), c = try need("components", .float32), cat = try need("categories", .uint8)
        guard rw.shape == [b], c.shape == [b, 4], cat.shape == [b, len] else { throw WireError(.shape, "reply tensor shapes disagree") }
        var ent: [Float]? = nil
        if let e = t["entropy"] {
            guard e.dtype == .float32, e.shape == [b, len] else { throw WireError(.shape, "entropy must be float32 [B,T]") }
            ent = t.floats(e)
        }
        var turns: TurnRewards? = nil
        if let tr = t["turn_rewards"] {
            guard let te = t["turn_ends"] else { throw WireError(.badHeader, "reply has turn_rewards without turn_ends") }
            guard tr.dtype == .float32, te.dtype == .int32 else { throw WireError(.dtype, "turn_rewards must be float32 and turn_ends int32") }
            guard tr.shape.count == 2, tr.shape[0] == b, te.shape == tr.shape else { throw WireError(.shape, "turn_rewards and turn_ends must be [B,K]") }
            turns = TurnRewards(k: tr.shape[1], rewards: t.floats(tr), ends: t.int32s(te))
        } else if t["turn_ends"] != nil {
            throw WireError(.badHeader, "reply has turn_ends without turn_rewards")
        }
        return ShapeReply(header: h, batch: b, length: len, weights: t.floats(w), rewards: t.floats(rw),
                          components: t.floats(c), categories: t.bytes(cat), entropies: ent, turns: turns)
    }
}
