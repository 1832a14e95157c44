import Regions

/// One rollout as a weight profile sees it: borrowed buffers of one row of the batch, length T.
/// Built by the batch engine per row (on any thread); never stored.
public struct RolloutRow {
    /// Sampled response token ids, padding included.
    public var ids: UnsafeBufferPointer<Int32>
    /// Loss/response mask; non-zero = valid token.
    public var mask: UnsafeBufferPointer<Float>
    /// ``Regions/TokenCategory`` raw values from ``Regions/RegionParser`` on the sampled tokens
    /// (needed by `aligned`).
    public var categories: UnsafeBufferPointer<UInt8>?
    /// Per-token entropies (optional; used by entropy modulation).
    public var entropies: UnsafeBufferPointer<Float>?
    /// Decoder/re-encoder (needed by `released`).
    public var codec: (any ReleasedTextCodec)?

    /// A row view; the buffers must outlive it.
    public init(ids: UnsafeBufferPointer<Int32>, mask: UnsafeBufferPointer<Float>,
                categories: UnsafeBufferPointer<UInt8>? = nil, entropies: UnsafeBufferPointer<Float>? = nil,
                codec: (any ReleasedTextCodec)? = nil) {
        self.ids = ids; self.mask = mask; self.categories = categories; self.entropies = entropies; self.codec = codec
    }

    /// Row length T.
    public var count: Int { mask.count }
}

/// Where a batch stands in training: the step and the entropy curriculum's progress.
public struct ShapingStep: Sendable, Equatable {
    /// Global training step (1 on the first training step, as in the released trainer).
    public var step: Int
    /// Progress p ∈ [0, 1] of the entropy curriculum (``EntropyScheduleState``); 0 if unused.
    public var entropyProgress: Double

    /// A training step, with the entropy curriculum's progress for the batch.
    public init(step: Int, entropyProgress: Double = 0) { self.step = step; self.entropyProgress = entropyProgress }
}

/// A named way of turning one rollout into per-token weights. Profiles are immutable values built
/// from a ``ShapingConfig``; `weights` is called concurrently from many threads.
///
/// A new profile is one type conforming to this protocol, registered by name in ``ProfileRegistry``.
public protocol WeightProfile: Sendable {
    /// Registry name (`released`, `aligned`, `uniform`, …).
    static var name: String { get }
    /// The configuration the profile was built with.
    var config: ShapingConfig { get }
    init(config: ShapingConfig) throws
    /// Writes the row's weights into `weights` (length T) using γ's resolved for this batch.
    /// Never throws: a row it cannot weight gets weights = mask and ``RowOutcome/fellBack(_:)``.
    func weights(row: RolloutRow, gammas: GammaTable, into weights: UnsafeMutableBufferPointer<Float>) -> RowOutcome
}

extension WeightProfile {
    /// The instance's registry name.
    public var name: String { Self.name }

    /// γ's for a batch at `step` (resolve once per batch, then call `weights(row:gammas:into:)` per row).
    public func gammas(at step: ShapingStep) -> GammaTable {
        config.gammaTable(step: step.step, entropyProgress: step.entropyProgress)
    }

    /// Convenience: resolves the γ's for `step` and weights one row.
    public func weights(row: RolloutRow, step: Int, into weights: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        self.weights(row: row, gammas: gammas(at: ShapingStep(step: step)), into: weights)
    }

    /// Convenience over arrays (tests, CLI): returns the weights and the outcome.
    public func weights(ids: [Int32], mask: [Float], categories: [UInt8]? = nil, entropies: [Float]? = nil,
                        codec: (any ReleasedTextCodec)? = nil, step: ShapingStep) -> (weights: [Float], outcome: RowOutcome) {
        var out = [Float](repeating: 0, count: mask.count)
        let g = gammas(at: step)
        let outcome: RowOutcome = ids.withUnsafeBufferPointer { ip in
            mask.withUnsafeBufferPointer { mp in
                withOptionalBuffer(categories) { cp in
                    withOptionalBuffer(entropies) { ep in
                        out.withUnsafeMutableBufferPointer { op in
                            weights(row: RolloutRow(ids: ip, mask: mp, categories: cp, entropies: ep, codec: codec),
                                    gammas: g, into: op)
                        }
                    }
                }
            }
        }
        return (out, outcome)
    }
}

@inline(__always)
func withOptionalBuffer<T, R>(_ a: [T]?, _ body: (UnsafeBufferPointer<T>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0) }
}

/// Writes the fallback weights (= mask) and returns the flagged outcome.
@inline(__always)
func fallBack(_ error: ShapingError, mask: UnsafeBufferPointer<Float>, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
    for i in 0..<w.count { w[i] = i < mask.count ? mask[i] : 0 }
    return .fellBack(error)
}
