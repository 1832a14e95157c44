import Regions

/// The entropy curriculum's state, kept by the caller across training steps (saved in the capture,
/// reset explicitly). See ``EntropyCurriculumConfig`` for the formulas.
///
/// Worked example (start 0.6, end 1.0, full_drop 0.5, smoothing 1, monotone):
/// step 1: think entropy 2.0 → H_0 = 2.0, r = 1, p = 0, γ_think = 0.6;
/// step 2: 1.5 → r = 0.75, p = (1 − 0.75)/0.5 = 0.5, γ_think = 0.6 + 0.4·0.5 = 0.8;
/// step 3: 1.8 → r = 0.9, p would be 0.2 but stays 0.5 (monotone), γ_think = 0.8;
/// step 4: 0.9 → r = 0.45, p = min(1.1, 1) = 1, γ_think = 1.0.
public struct EntropyScheduleState: Sendable, Equatable, Codable {
    /// H_0: the first observed batch mean entropy of the driving region (nil until observed).
    public private(set) var reference: Double?
    /// H̃_t: the smoothed current value.
    public private(set) var smoothed: Double?
    /// p_t: the current progress in [0, 1].
    public private(set) var progress: Double
    /// Batches observed with a usable entropy.
    public private(set) var observations: Int

    /// The state before any observation.
    public init() { reference = nil; smoothed = nil; progress = 0; observations = 0 }

    /// Forgets everything (next observation becomes the new reference).
    public mutating func reset() { self = EntropyScheduleState() }

    /// Feeds one batch's mean entropy of the driving region (nil or non-finite: no update) and
    /// returns the progress to use for this batch.
    @discardableResult
    public mutating func observe(_ batchMean: Double?, config: EntropyCurriculumConfig) -> Double {
        guard let h = batchMean, h.isFinite, h >= 0 else { return progress }
        observations += 1
        guard let h0 = reference, h0 > 0 else {
            reference = h
            smoothed = h
            return progress
        }
        let a = min(max(config.smoothing, 1e-12), 1)
        let s = a * h + (1 - a) * (smoothed ?? h)
        smoothed = s
        let p = min(max((1 - s / h0) / config.fullDrop, 0), 1)
        progress = config.monotone ? max(progress, p) : p
        return progress
    }

    /// Feeds a batch's region stats (the region named in `config.region`).
    @discardableResult
    public mutating func observe(_ stats: RegionEntropyStats, config: EntropyCurriculumConfig) -> Double {
        let c = TokenCategory(name: config.region) ?? .thinkContent
        return observe(stats.mean(c), config: config)
    }

    /// The ``ShapingStep`` for a batch at `step` with the current progress.
    public func shapingStep(_ step: Int) -> ShapingStep { ShapingStep(step: step, entropyProgress: progress) }
}
