import Pipeline

/// Request kinds of protocol v1.
public enum WireOp: String, Sendable, CaseIterable {
    case ping, shape, stats, applied
}

/// The `applied` object of an `applied` request: a trainer reports that it multiplied the weights
/// of the shape reply `replyID` into its loss, with their ``WeightDigest`` computed from the tensor
/// that multiplied the loss.
public struct AppliedReport: Sendable, Equatable {
    /// The `id` of the shape reply whose weights were applied.
    public var replyID: Int
    public var weights: WeightDigest
    public init(replyID: Int, weights: WeightDigest) { self.replyID = replyID; self.weights = weights }
}

/// A named boolean reward flag (ToolRL's environment switches, e.g. `SCHEDULEREWARD`), kept in
/// the order the client sent them so headers re-encode byte for byte.
public struct RewardFlag: Sendable, Equatable {
    public var name: String
    public var value: Bool
    public init(_ name: String, _ value: Bool) { self.name = name; self.value = value }
}

/// `options` of a shape request; every member is optional (absent = server default).
public struct WireOptions: Sendable, Equatable {
    /// Weight profile name (built-ins: `aligned`, `released`, `uniform`; the engine rejects unknown names).
    public var profile: String?
    /// Reward variant: `rest` or `toolrl`.
    public var reward: String?
    public var rewardFlags: [RewardFlag]?
    /// Schedule configuration as JSON text.
    public var schedule: String?
    public var temperature: Double?
    /// false: skip the reward (rewards and components are 0).
    public var computeRewards: Bool?
    /// false: skip the weights (categories are still computed).
    public var computeWeights: Bool?
    /// How a multi-turn row's per-turn rewards make its reward: `mean`, `last`, `sum`.
    public var turnReward: String?

    public init(profile: String? = nil, reward: String? = nil, rewardFlags: [RewardFlag]? = nil,
                schedule: String? = nil, temperature: Double? = nil, computeRewards: Bool? = nil, computeWeights: Bool? = nil,
                turnReward: String? = nil) {
        self.profile = profile; self.reward = reward; self.rewardFlags = rewardFlags
        self.schedule = schedule; self.temperature = temperature
        self.computeRewards = computeRewards; self.computeWeights = computeWeights
        self.turnReward = turnReward
    }
}

/// Frame 0 of a request (see protocol/PROTOCOL.md §Requests). Keys are written in this order:
/// `v, op, id, step, vocab, ground_truth, turn_ground_truth, applied, options, tensors`; absent
/// optionals are omitted.
public struct RequestHeader: Sendable, Equatable {
    /// The only protocol version this codec speaks.
    public static let protocolVersion = 1

    public var version: Int
    public var op: WireOp
    /// Client-chosen request id, echoed in the reply (0 ≤ id ≤ 2^53 − 1).
    public var id: Int
    /// Global training step (shape).
    public var step: Int?
    /// Full vocabulary size, required with top-k logits.
    public var vocab: Int?
    /// Ground truth per rollout (shape), length B.
    public var groundTruth: [String]?
    /// Ground truth per turn of each rollout (shape, optional), `[B][turns]`; null = none for that turn.
    public var turnGroundTruth: [[String?]]?
    /// `applied` requests: what the trainer applied.
    public var applied: AppliedReport?
    public var options: WireOptions?
    public var tensors: [TensorDescriptor]

    public init(op: WireOp, id: Int, step: Int? = nil, vocab: Int? = nil, groundTruth: [String]? = nil,
                turnGroundTruth: [[String?]]? = nil, applied: AppliedReport? = nil, options: WireOptions? = nil,
                tensors: [TensorDescriptor] = [], version: Int = RequestHeader.protocolVersion) {
        self.version = version; self.op = op; self.id = id; self.step = step; self.vocab = vocab
        self.groundTruth = groundTruth; self.turnGroundTruth = turnGroundTruth; self.applied = applied
        self.options = options; self.tensors = tensors
    }

    /// Largest `step` accepted (steps are counts of optimiser updates; 2^40 leaves every
    /// schedule's arithmetic exact).
    public static let maxStep = 1 << 40
    /// Largest tensor dimension and `vocab` accepted before the server's own limits apply.
    public static let maxDimension = 1 << 40

    /// A softmax temperature the entropy kernels can use: finite and > 0 both as a double and
    /// after rounding to float32 (1e-50 would become 0, 1e300 infinity).
    public static func isValidTemperature(_ t: Double) -> Bool {
        let f = Float(t)
        return t.isFinite && t > 0 && f.isFinite && f > 0
    }

    /// Reads just enough of a header to address a reply (op and id), even when the rest is invalid.
    public static func peek(_ bytes: UnsafeRawBufferPointer) -> (op: String?, id: Int?) {
        (try? JSONNode.parse(bytes) { root -> (String?, Int?) in
            let op = try? root["op"]?.string("op")
            let id = try? root["id"]?.int("id", in: 0...JSONNode.maxExactInteger)
            return (op ?? nil, id ?? nil)
        }) ?? (nil, nil)
    }

    /// Parses and validates frame 0. `frameCount` is the number of frames in the whole message.
    public static func decode(_ bytes: UnsafeRawBufferPointer, frameCount: Int) throws -> RequestHeader {
        try JSONNode.parse(bytes) { root in
            guard root.isObject else { throw WireError(.badHeader, "header must be a JSON object") }
            let v = try root.required("v", in: "header").int("v", rangeCode: .version)
            guard v == protocolVersion else { throw WireError(.version, "protocol version \(v) is not supported (this server speaks 1)") }
            let opName = try root.required("op", in: "header").string("op")
            guard let op = WireOp(rawValue: opName) else { throw WireError(.badHeader, "unknown op \"\(opName)\"") }
            let id = try root.required("id", in: "header").int("id", in: 0...JSONNode.maxExactInteger)
            var h = RequestHeader(op: op, id: id, version: v)
            h.step = try root["step"].map { try $0.int("step", in: 0...RequestHeader.maxStep) }
            h.vocab = try root["vocab"].map { try $0.int("vocab", in: 1...RequestHeader.maxDimension) }
            h.groundTruth = try root["ground_truth"].map { try $0.array("ground_truth").enumerated().map { i, n in try n.string("ground_truth[\(i)]") } }
            h.turnGroundTruth = try root["turn_ground_truth"].map { node in
                try node.array("turn_ground_truth").enumerated().map { i, row in
                    try row.array("turn_ground_truth[\(i)]").enumerated().map { k, n in
                        n.isNull ? nil : try n.string("turn_ground_truth[\(i)][\(k)]")
                    }
                }
            }
            if let a = root["applied"] { h.applied = try decodeApplied(a) }
            if let o = root["options"] { h.options = try decodeOptions(o) }
            if let t = root["tensors"] {
                h.tensors = try t.array("tensors").enumerated().map { i, n in try decodeTensor(n, index: i) }
            }
            try validateFrames(h.tensors, frameCount: frameCount)
            if op == .shape {
                guard h.step != nil else { throw WireError(.badHeader, "shape: missing \"step\"") }
                guard h.groundTruth != nil else { throw WireError(.badHeader, "shape: missing \"ground_truth\"") }
            }
            if op == .applied {
                guard h.applied != nil else { throw WireError(.badHeader, "applied: missing \"applied\"") }
                guard h.tensors.isEmpty else { throw WireError(.badHeader, "applied: carries no tensors") }
            }
            return h
        }
    }

    static func decodeApplied(_ n: JSONNode) throws -> AppliedReport {
        _ = try n.members("applied")
        func count(_ key: String) throws -> Int { try n.required(key, in: "applied").int("applied.\(key)", in: 0...JSONNode.maxExactInteger) }
        func finite(_ key: String) throws -> Double {
            let x = try n.required(key, in: "applied").double("applied.\(key)")
            guard x.isFinite else { throw WireError(.value, "applied.\(key) must be a finite number") }
            return x
        }
        return AppliedReport(replyID: try count("reply_id"),
                             weights: WeightDigest(rows: try count("rows"), tokens: try count("tokens"),
                                                   weightSum: try finite("weight_sum"), digest: try finite("digest")))
    }

    static func decodeOptions(_ n: JSONNode) throws -> WireOptions {
        _ = try n.members("options")
        var o = WireOptions()
        o.profile = try n["profile"].map { try $0.string("options.profile") }
        o.reward = try n["reward"].map { try $0.string("options.reward") }
        o.rewardFlags = try n["reward_flags"].map { try $0.members("options.reward_flags").map { k, v in RewardFlag(k, try v.bool("options.reward_flags.\(k)")) } }
        o.schedule = try n["schedule"].map { try $0.string("options.schedule") }
        o.temperature = try n["temperature"].map { try $0.double("options.temperature") }
        if let t = o.temperature, !Self.isValidTemperature(t) {
            throw WireError(.value, "options.temperature must be a finite number > 0 that is finite and > 0 in float32, got \(t)")
        }
        o.computeRewards = try n["compute_rewards"].map { try $0.bool("options.compute_rewards") }
        o.computeWeights = try n["compute_weights"].map { try $0.bool("options.compute_weights") }
        o.turnReward = try n["turn_reward"].map { try $0.string("options.turn_reward") }
        if let t = o.turnReward, TurnRewardAggregation(rawValue: t) == nil {
            throw WireError(.badHeader, "options.turn_reward must be one of \(TurnRewardAggregation.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(t)\"")
        }
        return o
    }

    static func decodeTensor(_ n: JSONNode, index: Int) throws -> TensorDescriptor {
        let ctx = "tensors[\(index)]"
        guard n.isObject else { throw WireError(.badHeader, "\(ctx) must be an object") }
        let name = try n.required("name", in: ctx).string("\(ctx).name")
        let dn = try n.required("dtype", in: ctx).string("\(ctx).dtype")
        guard let dtype = WireDType(rawValue: dn) else { throw WireError(.dtype, "\(name): unknown dtype \"\(dn)\"") }
        let shape = try n.required("shape", in: ctx).array("\(ctx).shape").map { try $0.int("\(ctx).shape", in: 0...RequestHeader.maxDimension) }
        let frames = try n.required("frames", in: ctx).array("\(ctx).frames").map {
            try $0.int("\(ctx).frames", in: 1...(1 << 20), rangeCode: .badHeader)
        }
        guard !frames.isEmpty else { throw WireError(.badHeader, "\(name): \"frames\" is empty") }
        return TensorDescriptor(name: name, dtype: dtype, shape: shape, frames: frames)
    }

    /// Every frame after the header belongs to exactly one tensor, and tensor names are unique.
    static func validateFrames(_ tensors: [TensorDescriptor], frameCount: Int) throws {
        var owner = [String?](repeating: nil, count: max(frameCount, 1))
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else { throw WireError(.badHeader, "tensor \"\(t.name)\" appears twice") }
            for f in t.frames {
                guard f < frameCount else { throw WireError(.badHeader, "\(t.name): frame \(f) does not exist (message has \(frameCount) frames)") }
                guard owner[f] == nil else { throw WireError(.badHeader, "frame \(f) is claimed by two tensors") }
                owner[f] = t.name
            }
        }
        for f in 1..<max(frameCount, 1) where owner[f] == nil {
            throw WireError(.badHeader, "frame \(f) is not described by any tensor")
        }
    }

    /// Canonical encoding (compact JSON, fixed key order).
    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.openObject()
        w.key("v"); w.int(version)
        w.key("op"); w.string(op.rawValue)
        w.key("id"); w.int(id)
        if let step { w.key("step"); w.int(step) }
        if let vocab { w.key("vocab"); w.int(vocab) }
        if let groundTruth { w.key("ground_truth"); w.stringArray(groundTruth) }
        if let turnGroundTruth {
            w.key("turn_ground_truth"); w.openArray()
            for row in turnGroundTruth {
                w.openArray()
                for t in row { if let t { w.string(t) } else { w.null() } }
                w.closeArray()
            }
            w.closeArray()
        }
        if let a = applied {
            w.key("applied"); w.openObject()
            w.key("reply_id"); w.int(a.replyID)
            w.key("rows"); w.int(a.weights.rows)
            w.key("tokens"); w.int(a.weights.tokens)
            w.key("weight_sum"); w.double(a.weights.weightSum)
            w.key("digest"); w.double(a.weights.digest)
            w.closeObject()
        }
        if let o = options {
            w.key("options"); w.openObject()
            if let p = o.profile { w.key("profile"); w.string(p) }
            if let r = o.reward { w.key("reward"); w.string(r) }
            if let flags = o.rewardFlags {
                w.key("reward_flags"); w.openObject()
                for f in flags { w.key(f.name); w.bool(f.value) }
                w.closeObject()
            }
            if let s = o.schedule { w.key("schedule"); w.string(s) }
            if let t = o.temperature { w.key("temperature"); w.double(t) }
            if let r = o.computeRewards { w.key("compute_rewards"); w.bool(r) }
            if let x = o.computeWeights { w.key("compute_weights"); w.bool(x) }
            if let t = o.turnReward { w.key("turn_reward"); w.string(t) }
            w.closeObject()
        }
        if !tensors.isEmpty { w.key("tensors"); TensorDescriptor.write(tensors, to: &w) }
        w.closeObject()
        return w.bytes
    }
}

extension TensorDescriptor {
    static func write(_ tensors: [TensorDescriptor], to w: inout JSONWriter) {
        w.openArray()
        for t in tensors {
            w.openObject()
            w.key("name"); w.string(t.name)
            w.key("dtype"); w.string(t.dtype.rawValue)
            w.key("shape"); w.intArray(t.shape)
            w.key("frames"); w.intArray(t.frames)
            w.closeObject()
        }
        w.closeArray()
    }
}
