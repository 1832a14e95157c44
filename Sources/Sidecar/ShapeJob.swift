import Pipeline
import Synchronization
import Wire

/// A shape request waiting for or running on a worker (thread or process).
final class Job: @unchecked Sendable {
    let key: UInt64
    let header: RequestHeader
    /// Request frames (header first), kept alive until the reply is captured.
    let message: ZmqFrames
    /// Bytes of the request, counted against the in-flight budget until a worker is done with it.
    let bytes: Int
    /// Raised when the request timed out: the engine stops at its next row boundary.
    let cancellation = CancellationFlag()
    /// The shaper's state just before this job ran (captured with the record).
    let engineState = Mutex<[UInt8]?>(nil)

    init(key: UInt64, header: RequestHeader, message: ZmqFrames, bytes: Int) {
        self.key = key; self.header = header; self.message = message; self.bytes = bytes
    }
}

/// What a worker reports with a reply, besides the reply frames: the status and what the
/// server's counters need. Travels as one small binary frame (``encode()``) from a worker thread
/// or process to the I/O thread.
struct JobOutcome: Sendable, Equatable {
    var key: UInt64
    /// nil: the reply is `ok`.
    var code: WireErrorCode?
    var rollouts = 0
    var tokens = 0
    var micros = 0
    /// The weights' digest (for `applied` acknowledgements), when weights were computed.
    var digest: WeightDigest?

    static let encodedCount = 8 + 1 + 3 * 8 + 1 + 4 * 8

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.encodedCount)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(key)
        put(code.flatMap { c in WireErrorCode.allCases.firstIndex(of: c).map { UInt8($0) } } ?? 255)
        put(Int64(rollouts)); put(Int64(tokens)); put(Int64(micros))
        put(UInt8(digest == nil ? 0 : 1))
        let d = digest ?? WeightDigest()
        put(Int64(d.rows)); put(Int64(d.tokens)); put(d.weightSum.bitPattern); put(d.digest.bitPattern)
        return out
    }

    /// nil unless `raw` is exactly one encoded outcome.
    init?(_ raw: UnsafeRawBufferPointer) {
        guard raw.count == Self.encodedCount else { return nil }
        var at = 0
        func take<T: FixedWidthInteger>(_: T.Type) -> T {
            defer { at += MemoryLayout<T>.size }
            return T(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: T.self))
        }
        key = take(UInt64.self)
        let status = Int(take(UInt8.self))
        code = status < WireErrorCode.allCases.count ? WireErrorCode.allCases[status] : nil
        if status != 255 && code == nil { return nil }
        rollouts = Int(take(Int64.self)); tokens = Int(take(Int64.self)); micros = Int(take(Int64.self))
        let hasDigest = take(UInt8.self) != 0
        let d = WeightDigest(rows: Int(take(Int64.self)), tokens: Int(take(Int64.self)),
                             weightSum: Double(bitPattern: take(UInt64.self)), digest: Double(bitPattern: take(UInt64.self)))
        digest = hasDigest ? d : nil
    }

    init(key: UInt64, code: WireErrorCode?) { self.key = key; self.code = code }
}

/// Runs one shape request through a ``Shaper``: decode (every check of the codec), shape, check
/// the result, encode the reply. The same function serves worker threads and worker processes.
struct ShapeJobRunner: Sendable {
    let shaper: any Shaper
    let limits: WireLimits
    let defaults: ShapeOptions
    /// Compute the weights' digest for acknowledgements.
    let digests: Bool

    /// The reply frames and the outcome of `header`/`frames` (frame 0 is the header).
    func run(key: UInt64, header: RequestHeader, frames: [UnsafeRawBufferPointer], cancellation: CancellationFlag?,
             beforeShaping: () -> Void = {}) -> ([FrameBuffer], JobOutcome) {
        let id = header.id
        func fail(_ e: WireError) -> ([FrameBuffer], JobOutcome) {
            ([FrameBuffer(bytes: ReplyHeader(op: "shape", id: id, error: e).encode())], JobOutcome(key: key, code: e.code))
        }
        do {
            var req = try ShapeRequestCodec.decode(header: header, frames: frames, limits: limits, defaults: defaults)
            req.cancellation = cancellation
            beforeShaping()
            let t0 = monotonicNanos()
            let result = try shaper.shape(req)
            let micros = Int((monotonicNanos() - t0) / 1000) // the core alone: codec and transport excluded
            try Self.validate(result, req)
            var outcome = JobOutcome(key: key, code: nil)
            outcome.rollouts = req.batch; outcome.tokens = req.batch * req.length; outcome.micros = micros
            if digests, req.options.computeWeights {
                outcome.digest = WeightDigest(weights: result.weights, mask: req.mask, rows: req.batch, length: req.length)
            }
            let withEntropy = header.tensors.contains { $0.name == "logits" || $0.name == "topk_logits" }
            let reply = ShapeReply(result: result, id: id, batch: req.batch, length: req.length,
                                   computeMicros: micros, includeEntropies: withEntropy)
            return (ShapeReplyCodec.encode(reply, maxFrameBytes: limits.maxFrameBytes), outcome)
        } catch let e as WireError {
            return fail(e)
        } catch let e as ShapeError {
            return fail(WireError(WireErrorCode(rawValue: e.code) ?? .internal, e.description))
        } catch {
            return fail(WireError(.internal, "\(error)"))
        }
    }

    /// The core's result must have the request's shapes, and finite numbers, before it goes on the wire.
    static func validate(_ r: ShapeResult, _ q: ShapeRequest) throws {
        let bt = q.batch * q.length
        guard r.weights.count == bt, r.categories.count == bt, r.rewards.count == q.batch,
              r.components.count == 4 * q.batch, r.rolloutStatus.count == q.batch,
              r.entropies.map({ $0.count == bt }) ?? true else {
            throw WireError(.internal, "the shaping core returned tensors of the wrong size")
        }
        // Finite inputs can still combine into a non-finite result (e.g. a request schedule whose
        // γ is 1e308 overflows float32); such a reply would poison the trainer's loss.
        if let i = r.weights.firstIndex(where: { !$0.isFinite }) {
            throw WireError(.value, "weight [\(i / max(q.length, 1))][\(i % max(q.length, 1))] is \(r.weights[i]): the schedule or entropies are out of range")
        }
        if let i = r.rewards.firstIndex(where: { !$0.isFinite }) ?? r.components.firstIndex(where: { !$0.isFinite }).map({ $0 / 4 }) {
            throw WireError(.value, "the reward of rollout \(i) is not finite")
        }
        if let tr = r.turns {
            let (n, overflow) = q.batch.multipliedReportingOverflow(by: tr.k)
            guard tr.k >= 1, !overflow, tr.rewards.count == n, tr.ends.count == n else {
                throw WireError(.internal, "the shaping core returned a turn table of the wrong size")
            }
            if let i = tr.rewards.firstIndex(where: { !$0.isFinite }) { throw WireError(.value, "turn reward \(i % tr.k) of rollout \(i / tr.k) is not finite") }
        }
    }
}
