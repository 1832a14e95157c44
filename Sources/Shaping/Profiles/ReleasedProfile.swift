import Regions

/// `released`: the released ResT `build_token_weight`, quirks included (W1–W10 of the vectors'
/// README): the row is decoded with its pad strings, the tag/name/argument spans are found by the
/// released regexes on that text (``ReleasedSpanFinder``) and mapped to tokens through the code-point
/// offsets of a *re-tokenisation* of the text (``TokenSpanMapper``: first token dropped when it
/// straddles the start, last token always dropped), then max-combined and normalised like the
/// reference (float32, row mean in PyTorch's summation order).
///
/// Where the released code raises (`StopIteration`, a `RuntimeError` from mismatched slice shapes),
/// the row falls back to weights = mask with ``RowOutcome/fellBack(_:)``. The text is re-encoded once
/// per row (the released code re-encodes it for every span).
public struct ReleasedProfile: WeightProfile {
    public static let name = "released"
    public let config: ShapingConfig
    private let normalizer: RowNormalizer

    public init(config: ShapingConfig = ShapingConfig.released) throws {
        try config.validate()
        self.config = config
        normalizer = RowNormalizer(config: config)
    }

    public func weights(row: RolloutRow, gammas: GammaTable, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        let t = row.mask.count
        guard w.count >= t else { return fallBack(.invalidRow("weights \(w.count) < mask \(t)"), mask: row.mask, into: w) }
        guard let codec = row.codec else { return fallBack(.missingTokenizer, mask: row.mask, into: w) }
        do {
            let text = try codec.releasedDecode(row.ids)
            var scalars: [UInt32] = []
            scalars.reserveCapacity(text.utf8.count)
            for u in text.unicodeScalars { scalars.append(u.value) }
            var spans: [ReleasedSpanFinder.Span] = []
            spans.reserveCapacity(16)
            scalars.withUnsafeBufferPointer { ReleasedSpanFinder.find($0, into: &spans) }
            for i in 0..<w.count { w[i] = 0 }
            if !spans.isEmpty {
                let offsets = try codec.releasedOffsets(text)
                try gammas.values.withUnsafeBufferPointer { g throws(ShapingError) in
                    for s in spans {
                        let (lo, hi) = try TokenSpanMapper.map(offsets, charLo: s.lo, charHi: s.hi)
                        try TokenSpanMapper.applyMax(w, rowLength: t, lo: lo, hi: hi, gamma: g[Int(s.category)])
                    }
                }
            }
        } catch let e as ShapingError {
            return fallBack(e, mask: row.mask, into: w)
        } catch {
            return fallBack(.tokenizer("\(error)"), mask: row.mask, into: w)
        }
        normalizer.apply(w, mask: row.mask)
        return .ok
    }

    /// The character spans (code points of the decoded text) and the category whose γ each gets,
    /// in processing order: for inspection and documentation.
    public static func characterSpans(of text: String) -> [(lo: Int, hi: Int, category: TokenCategory)] {
        let scalars = text.unicodeScalars.map(\.value)
        var spans: [ReleasedSpanFinder.Span] = []
        scalars.withUnsafeBufferPointer { ReleasedSpanFinder.find($0, into: &spans) }
        return spans.map { ($0.lo, $0.hi, TokenCategory(rawValue: $0.category) ?? .outside) }
    }
}
