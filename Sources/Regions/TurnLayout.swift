/// The turns of one rollout row, read from its loss mask alone (the trainer's own ids are never
/// re-tokenised).
///
/// - A *turn* is a maximal run of tokens with mask ≠ 0.
/// - An *observation* is a run of mask = 0 tokens between two turns (a tool response and the next
///   chat header in verl's agent loop, TRL's `tool_mask`, …): category ``TokenCategory/observation``.
/// - Leading and trailing mask = 0 tokens are padding, as in a single-turn row.
///
/// The region parser runs once per *segment*: with one turn (or none) the single segment is the
/// whole row, exactly as for a single-turn rollout; with several, the first segment runs from the
/// row's start to the end of turn 0, each middle segment is its turn, and the last runs from the
/// start of the last turn to the row's end. Every turn is therefore parsed as if it had been sent
/// alone (with its row's leading or trailing padding), and no observation byte reaches the parser.
public struct TurnLayout: Sendable, Equatable {
    /// Token ranges of the turns, in order.
    public private(set) var turns: [Range<Int>]
    /// Row length T.
    public let length: Int

    /// Reads the turns of `mask` (non-zero = valid token).
    public init(mask: UnsafeBufferPointer<Float>) {
        length = mask.count
        turns = []
        var i = 0
        while i < mask.count {
            guard mask[i] != 0 else { i += 1; continue }
            let start = i
            while i < mask.count, mask[i] != 0 { i += 1 }
            turns.append(start..<i)
        }
    }

    /// Array convenience of ``init(mask:)``.
    public init(mask: [Float]) {
        self = mask.withUnsafeBufferPointer { TurnLayout(mask: $0) }
    }

    /// True when the row has more than one turn (so at least one observation).
    public var isMultiTurn: Bool { turns.count > 1 }

    /// The observation ranges: the gaps between consecutive turns.
    public var observations: [Range<Int>] {
        guard turns.count > 1 else { return [] }
        return (1..<turns.count).map { turns[$0 - 1].upperBound..<turns[$0].lowerBound }
    }

    /// The ranges the region parser sees separately (see the type's documentation); they cover
    /// every token that is not an observation.
    public var segments: [Range<Int>] {
        guard turns.count > 1 else { return [0..<length] }
        return turns.indices.map { k in
            let lo = k == 0 ? 0 : turns[k].lowerBound
            let hi = k == turns.count - 1 ? length : turns[k].upperBound
            return lo..<hi
        }
    }

    /// The turn index of every token: 0-based for turn tokens, -1 for observations and padding.
    public var turnIndex: [Int] {
        var out = [Int](repeating: -1, count: length)
        for (k, r) in turns.enumerated() { for i in r { out[i] = k } }
        return out
    }

    /// Runs `categorize` on every segment (its range and its slice of `categories`, length T),
    /// then writes ``TokenCategory/observation`` on the observation tokens. Ranges are clipped to
    /// `categories.count`.
    public func categorize(into categories: UnsafeMutableBufferPointer<UInt8>,
                           segment categorize: (Range<Int>, UnsafeMutableBufferPointer<UInt8>) throws -> Void) rethrows {
        let n = categories.count
        for s in segments where s.lowerBound < n {
            let r = s.clamped(to: 0..<n)
            try categorize(r, UnsafeMutableBufferPointer(rebasing: categories[r]))
        }
        for o in observations { for i in o.clamped(to: 0..<n) { categories[i] = TokenCategory.observation.rawValue } }
    }
}
