import Pipeline
import Regions
import Wire

/// Names of the token categories (uint8 raw values on the wire).
public enum CategoryNames {
    public static let all = TokenCategory.allCases.map(\.name)
    public static func name(_ c: UInt8) -> String { Int(c) < all.count ? all[Int(c)] : "category_\(c)" }
}

/// Per-region running statistics over valid (mask ≠ 0) tokens.
public struct RegionStats: Sendable, Equatable {
    public var tokens = 0
    public var weightSum = 0.0
    public var entropySum = 0.0
    public var entropyTokens = 0
    public init() {}
    public var meanWeight: Double { tokens > 0 ? weightSum / Double(tokens) : 0 }
    public var meanEntropy: Double? { entropyTokens > 0 ? entropySum / Double(entropyTokens) : nil }
}

/// A row of replay's per-turn region table: a turn index (0-based) and a category.
public struct TurnRegion: Sendable, Hashable, Comparable {
    public var turn: Int
    public var category: UInt8
    public init(turn: Int, category: UInt8) { self.turn = turn; self.category = category }
    public static func < (a: TurnRegion, b: TurnRegion) -> Bool { (a.turn, a.category) < (b.turn, b.category) }
}

/// Per turn index over the multi-turn rollouts of a capture: how many reached that turn, and
/// the sum of their turn rewards.
public struct TurnSummary: Sendable, Equatable {
    public var rollouts = 0
    public var rewardSum = 0.0
    public init() {}
    public var meanReward: Double { rollouts > 0 ? rewardSum / Double(rollouts) : 0 }
}

/// One rollout kept for the HTML heat-map.
public struct ReplayedRollout: Sendable {
    public var record: Int
    public var row: Int
    public var ids: [Int32]
    public var mask: [Float]
    public var weights: [Float]
    public var categories: [UInt8]
    public var entropies: [Float]?
    public var reward: Float
    public var groundTruth: String
    /// Turn index of every token (−1: observation or padding), from the mask.
    public var turnIndex: [Int] = []
    /// Reward of each turn when the batch was multi-turn.
    public var turnRewards: [Float] = []
}

/// What replaying a capture found.
public struct ReplayReport: Sendable {
    public var records = 0
    public var byOp: [String: Int] = [:]
    /// Error replies in the capture, by code.
    public var capturedErrors: [String: Int] = [:]
    /// Error records whose request gives the same error code again (decoding, then the core).
    public var errorsReproduced = 0
    public var shapeReplayed = 0
    public var identical = 0
    public var different = 0
    /// One line per difference (capped).
    public var differences: [String] = []
    public var maxWeightRelDiff = 0.0
    public var regions: [UInt8: RegionStats] = [:]
    /// Region statistics per turn of the multi-turn rollouts (rows with more than one turn).
    public var turnRegions: [TurnRegion: RegionStats] = [:]
    /// Turn index → rollouts reaching it and their turn rewards (multi-turn rollouts).
    public var turns: [Int: TurnSummary] = [:]
    public var multiTurnRollouts = 0
    /// Tokens between two turns (category observation), in no region statistic.
    public var observationTokens = 0
    public var tail: CaptureTailProblem?
    public var rollouts: [ReplayedRollout] = []
    public init() {}
}

/// Recomputes the shape records of a capture with a ``Shaper`` and compares with the captured replies.
public struct Replayer {
    public var shaper: any Shaper
    public var limits: WireLimits
    /// Replace each request's weight profile (the comparison then shows the profile's effect).
    public var profile: String?
    /// Rollouts kept for the heat-map.
    public var keepRollouts: Int
    public var maxDifferenceLines = 50

    public init(shaper: any Shaper, limits: WireLimits = WireLimits(maxMessageBytes: .max, maxTokens: .max, maxVocab: .max, maxBatch: .max),
                profile: String? = nil, keepRollouts: Int = 64) {
        self.shaper = shaper; self.limits = limits; self.profile = profile; self.keepRollouts = keepRollouts
    }

    /// Replays every complete record of `reader`; `progress(bytesRead, fileSize)` after each.
    public func run(_ reader: CaptureReader, progress: (Int, Int) -> Void = { _, _ in }) -> ReplayReport {
        var report = ReplayReport()
        var index = 0
        while let rec = reader.next() {
            replay(rec, index: index, into: &report)
            index += 1
            progress(reader.bytesRead, reader.fileSize)
        }
        report.tail = reader.tailProblem
        return report
    }

    private func note(_ r: inout ReplayReport, _ line: String) {
        if r.differences.count < maxDifferenceLines { r.differences.append(line) }
    }

    public func replay(_ rec: CaptureRecord, index: Int, into report: inout ReplayReport) {
        report.records += 1
        guard !rec.request.isEmpty, let repHead = rec.reply.first else { return }
        let reply: ReplyHeader
        do { reply = try repHead.withUnsafeBytes { try ReplyHeader.decode($0, frameCount: rec.reply.count) } } catch {
            note(&report, "record \(index): captured reply does not decode: \(error)"); return
        }
        report.byOp[reply.op, default: 0] += 1
        let frames = rec.request.map { FrameBuffer(bytes: $0) }
        withExtendedLifetime(frames) { replay(rec, raw: frames.map(\.raw), reply: reply, index: index, into: &report) }
    }

    private func replay(_ rec: CaptureRecord, raw: [UnsafeRawBufferPointer], reply: ReplyHeader, index: Int, into report: inout ReplayReport) {
        if let e = reply.error {
            report.capturedErrors[e.code.rawValue, default: 0] += 1
            if rec.logitsOmitted || e.code == .busy || e.code == .timeout || e.code == .limit { return }
            do {
                let h = try RequestHeader.decode(raw[0], frameCount: raw.count)
                if h.op == .shape {
                    var request = try ShapeRequestCodec.decode(header: h, frames: raw, limits: limits)
                    if let profile { request.options.profile = profile }
                    _ = try shaper.shape(request) // errors found by the core (unknown profile, …)
                }
                note(&report, "record \(index): captured error \(e.code.rawValue) but the request succeeds now")
            } catch let again as ShapeError {
                if again.code == e.code.rawValue { report.errorsReproduced += 1 }
                else { note(&report, "record \(index): captured error \(e.code.rawValue), now \(again.code)") }
            } catch let again as WireError {
                if again.code == e.code { report.errorsReproduced += 1 }
                else { note(&report, "record \(index): captured error \(e.code.rawValue), now \(again.code.rawValue)") }
            } catch {
                if e.code == .internal { report.errorsReproduced += 1 } else { note(&report, "record \(index): \(error)") }
            }
            return
        }
        guard reply.op == WireOp.shape.rawValue else { return }
        do {
            var header = try RequestHeader.decode(raw[0], frameCount: raw.count)
            let replyFrames = rec.reply.map { FrameBuffer(bytes: $0) }
            let captured = try withExtendedLifetime(replyFrames) { try ShapeReplyCodec.decode(replyFrames.map(\.raw)) }
            var inputs = raw
            var extra: FrameBuffer? = nil
            if rec.logitsOmitted {
                // The logits were not stored: use the entropies the server computed from them.
                header.tensors.removeAll { ["logits", "topk_logits", "logsumexp"].contains($0.name) }
                if let e = captured.entropies {
                    let buf = e.withUnsafeBytes { FrameBuffer(copying: $0) }
                    extra = buf
                    inputs.append(buf.raw)
                    header.tensors.append(TensorDescriptor(name: "entropy", dtype: .float32, shape: [captured.batch, captured.length], frames: [inputs.count - 1]))
                }
            }
            var request = try withExtendedLifetime(extra) { try ShapeRequestCodec.decode(header: header, frames: inputs, limits: limits) }
            if let profile { request.options.profile = profile }
            if let state = rec.engineState, let stateful = shaper as? any CaptureStateProvider {
                try stateful.restoreCaptureState(state)
            }
            let result = try shaper.shape(request)
            report.shapeReplayed += 1
            var same = compare(captured, result, index: index, report: &report)
            if result.weights.count != request.batch * request.length { same = false }
            if same { report.identical += 1 } else { report.different += 1 }
            accumulate(request, result, captured: captured, index: index, report: &report)
        } catch {
            report.different += 1
            note(&report, "record \(index): replay failed: \(error)")
        }
    }

    private func compare(_ c: ShapeReply, _ r: ShapeResult, index: Int, report: inout ReplayReport) -> Bool {
        guard c.weights.count == r.weights.count, c.rewards.count == r.rewards.count else {
            note(&report, "record \(index): shapes differ"); return false
        }
        var same = true
        let t = max(c.length, 1)
        for row in 0..<c.batch {
            var zeroMismatch = 0, worst = 0.0
            for j in row * t..<(row + 1) * t {
                let a = c.weights[j], b = r.weights[j]
                if (a == 0) != (b == 0) { zeroMismatch += 1; continue }
                if a != 0 { worst = max(worst, Double(abs(a - b)) / Double(abs(a))) }
            }
            report.maxWeightRelDiff = max(report.maxWeightRelDiff, worst)
            let catDiff = (row * t..<(row + 1) * t).filter { c.categories[$0] != r.categories[$0] }.count
            let rewardDiff = abs(c.rewards[row] - r.rewards[row])
            var compDiff: Float = 0
            for k in 0..<4 { compDiff = max(compDiff, abs(c.components[row * 4 + k] - r.components[row * 4 + k])) }
            if zeroMismatch > 0 || worst > 1e-6 || catDiff > 0 || rewardDiff > 1e-6 || compDiff > 1e-6 {
                same = false
                note(&report, "record \(index) rollout \(row): weight rel diff \(worst), zero-pattern mismatches \(zeroMismatch), category mismatches \(catDiff), reward \(c.rewards[row]) → \(r.rewards[row])")
            }
        }
        switch (c.turns, r.turns) {
        case (nil, nil): break
        case let (a?, b?) where a.k == b.k && a.ends == b.ends:
            let worst = zip(a.rewards, b.rewards).map { abs($0 - $1) }.max() ?? 0
            if worst > 1e-6 { same = false; note(&report, "record \(index): turn rewards differ by up to \(worst)") }
        default:
            same = false
            note(&report, "record \(index): turn tables differ (captured K = \(c.turns?.k ?? 0), now \(r.turns?.k ?? 0))")
        }
        return same
    }

    private func accumulate(_ q: ShapeRequest, _ r: ShapeResult, captured: ShapeReply, index: Int, report: inout ReplayReport) {
        var ent: [Float]? = r.entropies ?? captured.entropies
        if ent == nil, case .entropies(let e) = q.entropy { ent = e }
        for j in 0..<(q.batch * q.length) where q.mask[j] != 0 {
            var s = report.regions[r.categories[j], default: RegionStats()]
            s.tokens += 1
            s.weightSum += Double(r.weights[j])
            if let e = ent, e[j].isFinite { s.entropySum += Double(e[j]); s.entropyTokens += 1 }
            report.regions[r.categories[j]] = s
        }
        for row in 0..<q.batch {
            let span = row * q.length..<(row + 1) * q.length
            let layout = TurnLayout(mask: Array(q.mask[span]))
            let turnRewards = r.turns.map { t in (0..<layout.turns.count).map { t.rewards[row * t.k + $0] } } ?? []
            if layout.isMultiTurn {
                report.multiTurnRollouts += 1
                for o in layout.observations { report.observationTokens += o.count }
                for (k, turn) in layout.turns.enumerated() {
                    report.turns[k, default: TurnSummary()].rollouts += 1
                    if k < turnRewards.count { report.turns[k, default: TurnSummary()].rewardSum += Double(turnRewards[k]) }
                    for j in turn {
                        let key = TurnRegion(turn: k, category: r.categories[span.lowerBound + j])
                        var s = report.turnRegions[key, default: RegionStats()]
                        s.tokens += 1
                        s.weightSum += Double(r.weights[span.lowerBound + j])
                        if let e = ent, e[span.lowerBound + j].isFinite { s.entropySum += Double(e[span.lowerBound + j]); s.entropyTokens += 1 }
                        report.turnRegions[key] = s
                    }
                }
            }
            guard report.rollouts.count < keepRollouts else { continue }
            var kept = ReplayedRollout(record: index, row: row, ids: Array(q.inputIDs[span]), mask: Array(q.mask[span]),
                                       weights: Array(r.weights[span]), categories: Array(r.categories[span]),
                                       entropies: ent.map { Array($0[span]) }, reward: r.rewards[row],
                                       groundTruth: q.groundTruths[row])
            kept.turnIndex = layout.turnIndex
            kept.turnRewards = turnRewards
            report.rollouts.append(kept)
        }
    }
}
