import Pipeline

/// A name/value pair, kept in order so headers re-encode byte for byte.
public struct Named<Value: Sendable & Equatable>: Sendable, Equatable {
    public var name: String
    public var value: Value
    public init(_ name: String, _ value: Value) { self.name = name; self.value = value }
}

/// What a `ping` reply says about the server.
public struct ServerInfo: Sendable, Equatable {
    /// e.g. `rest-shaper 0.1.0`.
    public var version: String
    /// Protocol versions spoken.
    public var protocols: [Int]
    /// Accepted dtypes per request tensor name.
    public var dtypes: [Named<[String]>]
    /// Server limits (`max_message_bytes`, `max_frame_bytes`, `max_tokens`, `max_vocab`, `max_batch`, `timeout_ms`).
    public var limits: [Named<Int>]
    /// Tokenizer vocabulary size (valid ids are 0..<vocab).
    public var vocab: Int

    public init(version: String, protocols: [Int], dtypes: [Named<[String]>], limits: [Named<Int>], vocab: Int) {
        self.version = version; self.protocols = protocols; self.dtypes = dtypes; self.limits = limits; self.vocab = vocab
    }
}

/// Batch metrics of a shape reply (per-region token counts and means), keys in the sender's order.
public struct WireMetrics: Sendable, Equatable {
    public var rewardMean: Double
    public var tokenCounts: [Named<Int>]
    public var weightMeans: [Named<Double>]
    public var entropyMeans: [Named<Double>]
    /// γ per region used for the batch (omitted from the header when empty).
    public var gammas: [Named<Double>]
    /// The entropy curriculum's progress for the batch (omitted when the schedule does not use it).
    public var entropyProgress: Double?

    public init(rewardMean: Double, tokenCounts: [Named<Int>], weightMeans: [Named<Double>], entropyMeans: [Named<Double>],
                gammas: [Named<Double>] = [], entropyProgress: Double? = nil) {
        self.rewardMean = rewardMean; self.tokenCounts = tokenCounts; self.weightMeans = weightMeans; self.entropyMeans = entropyMeans
        self.gammas = gammas; self.entropyProgress = entropyProgress
    }

    /// From the core's metrics, keys sorted so the encoding is deterministic.
    public init(_ m: BatchMetrics) {
        rewardMean = m.rewardMean
        tokenCounts = m.tokenCounts.sorted { $0.key < $1.key }.map { Named($0.key, $0.value) }
        weightMeans = m.weightMeans.sorted { $0.key < $1.key }.map { Named($0.key, $0.value) }
        entropyMeans = m.entropyMeans.sorted { $0.key < $1.key }.map { Named($0.key, $0.value) }
        gammas = m.gammas.sorted { $0.key < $1.key }.map { Named($0.key, $0.value) }
        entropyProgress = m.entropyProgress
    }

    public var batchMetrics: BatchMetrics {
        BatchMetrics(tokenCounts: Dictionary(tokenCounts.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                     entropyMeans: Dictionary(entropyMeans.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                     weightMeans: Dictionary(weightMeans.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                     rewardMean: rewardMean,
                     gammas: Dictionary(gammas.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                     entropyProgress: entropyProgress)
    }
}

/// The answer to an `applied` request: whether the reported weights are the ones the server sent.
public struct AppliedVerdict: Sendable, Equatable {
    /// `ok`: they match; `mismatch`: a reply with that id is open but the report differs;
    /// `unknown`: no open reply has that id (never sent, acknowledged already, or expired).
    public enum Result: String, Sendable, CaseIterable { case ok, mismatch, unknown }
    public var result: Result
    /// Why, for `mismatch` and `unknown` (omitted when empty).
    public var message: String
    public init(_ result: Result, _ message: String = "") { self.result = result; self.message = message }
}

/// Frame 0 of a reply (see protocol/PROTOCOL.md §Replies). Keys are written in the order
/// `v, op, id, status, error, compute_us, rollouts, metrics, applied, server, stats, prometheus, tensors`.
public struct ReplyHeader: Sendable, Equatable {
    public var version: Int
    /// The request's op, echoed (`unknown` when the request header could not be read).
    public var op: String
    /// The request's id, echoed when it could be read.
    public var id: Int?
    /// nil on success; the typed error otherwise.
    public var error: WireError?
    /// Server-side compute time of a shape request, microseconds.
    public var computeMicros: Int?
    public var rollouts: [RolloutStatus]?
    public var metrics: WireMetrics?
    /// `applied` replies: the verdict.
    public var applied: AppliedVerdict?
    public var server: ServerInfo?
    public var stats: [Named<Int>]?
    public var prometheus: String?
    public var tensors: [TensorDescriptor]

    public init(op: String, id: Int?, error: WireError? = nil, version: Int = RequestHeader.protocolVersion) {
        self.version = version; self.op = op; self.id = id; self.error = error; self.tensors = []
    }

    public var isOK: Bool { error == nil }

    public func encode() -> [UInt8] {
        var w = JSONWriter()
        w.openObject()
        w.key("v"); w.int(version)
        w.key("op"); w.string(op)
        if let id { w.key("id"); w.int(id) }
        w.key("status"); w.string(error == nil ? "ok" : "error")
        if let e = error {
            w.key("error"); w.openObject()
            w.key("code"); w.string(e.code.rawValue)
            w.key("message"); w.string(e.message)
            w.closeObject()
        }
        if let computeMicros { w.key("compute_us"); w.int(computeMicros) }
        if let rollouts {
            w.key("rollouts"); w.openArray()
            for r in rollouts {
                w.openObject(); w.key("code"); w.string(r.code)
                if !r.message.isEmpty { w.key("message"); w.string(r.message) }
                w.closeObject()
            }
            w.closeArray()
        }
        if let m = metrics {
            w.key("metrics"); w.openObject()
            w.key("reward_mean"); w.double(m.rewardMean)
            w.key("token_counts"); w.openObject(); for p in m.tokenCounts { w.key(p.name); w.int(p.value) }; w.closeObject()
            w.key("weight_means"); w.openObject(); for p in m.weightMeans { w.key(p.name); w.double(p.value) }; w.closeObject()
            w.key("entropy_means"); w.openObject(); for p in m.entropyMeans { w.key(p.name); w.double(p.value) }; w.closeObject()
            if !m.gammas.isEmpty { w.key("gammas"); w.openObject(); for p in m.gammas { w.key(p.name); w.double(p.value) }; w.closeObject() }
            if let p = m.entropyProgress { w.key("entropy_progress"); w.double(p) }
            w.closeObject()
        }
        if let a = applied {
            w.key("applied"); w.openObject()
            w.key("result"); w.string(a.result.rawValue)
            if !a.message.isEmpty { w.key("message"); w.string(a.message) }
            w.closeObject()
        }
        if let s = server {
            w.key("server"); w.openObject()
            w.key("version"); w.string(s.version)
            w.key("protocols"); w.intArray(s.protocols)
            w.key("dtypes"); w.openObject(); for p in s.dtypes { w.key(p.name); w.stringArray(p.value) }; w.closeObject()
            w.key("limits"); w.openObject(); for p in s.limits { w.key(p.name); w.int(p.value) }; w.closeObject()
            w.key("vocab"); w.int(s.vocab)
            w.closeObject()
        }
        if let stats { w.key("stats"); w.openObject(); for p in stats { w.key(p.name); w.int(p.value) }; w.closeObject() }
        if let prometheus { w.key("prometheus"); w.string(prometheus) }
        if !tensors.isEmpty { w.key("tensors"); TensorDescriptor.write(tensors, to: &w) }
        w.closeObject()
        return w.bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer, frameCount: Int) throws -> ReplyHeader {
        try JSONNode.parse(bytes) { root in
            guard root.isObject else { throw WireError(.badHeader, "reply header must be a JSON object") }
            let v = try root.required("v", in: "reply").int("v")
            var h = ReplyHeader(op: try root.required("op", in: "reply").string("op"),
                                id: try root["id"].map { try $0.int("id", in: 0...JSONNode.maxExactInteger) }, version: v)
            let status = try root.required("status", in: "reply").string("status")
            if status == "error" {
                let e = try root.required("error", in: "reply")
                let code = try e.required("code", in: "error").string("error.code")
                guard let c = WireErrorCode(rawValue: code) else { throw WireError(.badHeader, "unknown error code \(code)") }
                h.error = WireError(c, try e.required("message", in: "error").string("error.message"))
            } else if status != "ok" {
                throw WireError(.badHeader, "status must be ok or error")
            }
            h.computeMicros = try root["compute_us"].map { try $0.int("compute_us") }
            h.rollouts = try root["rollouts"].map { try $0.array("rollouts").map { r in
                RolloutStatus(code: try r.required("code", in: "rollout").string("code"),
                              message: try r["message"]?.string("message") ?? "")
            } }
            if let m = root["metrics"] {
                func pairs<V>(_ key: String, _ f: (JSONNode) throws -> V) throws -> [Named<V>] {
                    try m.required(key, in: "metrics").members(key).map { Named($0.0, try f($0.1)) }
                }
                h.metrics = WireMetrics(rewardMean: try m.required("reward_mean", in: "metrics").double("reward_mean"),
                                        tokenCounts: try pairs("token_counts") { try $0.int("count") },
                                        weightMeans: try pairs("weight_means") { try $0.double("mean") },
                                        entropyMeans: try pairs("entropy_means") { try $0.double("mean") },
                                        gammas: try m["gammas"].map { try $0.members("gammas").map { Named($0.0, try $0.1.double("gamma")) } } ?? [],
                                        entropyProgress: try m["entropy_progress"].map { try $0.double("entropy_progress") })
            }
            if let a = root["applied"] {
                let r = try a.required("result", in: "applied").string("applied.result")
                guard let result = AppliedVerdict.Result(rawValue: r) else { throw WireError(.badHeader, "unknown applied.result \(r)") }
                h.applied = AppliedVerdict(result, try a["message"]?.string("applied.message") ?? "")
            }
            if let s = root["server"] {
                h.server = ServerInfo(
                    version: try s.required("version", in: "server").string("version"),
                    protocols: try s.required("protocols", in: "server").array("protocols").map { try $0.int("protocol") },
                    dtypes: try s.required("dtypes", in: "server").members("dtypes").map { k, n in Named(k, try n.array(k).map { try $0.string(k) }) },
                    limits: try s.required("limits", in: "server").members("limits").map { k, n in Named(k, try n.int(k)) },
                    vocab: try s.required("vocab", in: "server").int("vocab"))
            }
            h.stats = try root["stats"].map { try $0.members("stats").map { k, n in Named(k, try n.int(k)) } }
            h.prometheus = try root["prometheus"].map { try $0.string("prometheus") }
            if let t = root["tensors"] {
                h.tensors = try t.array("tensors").enumerated().map { i, n in try RequestHeader.decodeTensor(n, index: i) }
            }
            try RequestHeader.validateFrames(h.tensors, frameCount: frameCount)
            return h
        }
    }
}
