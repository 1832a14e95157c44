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
///
/// Multi-turn rows (interior mask = 0 runs, ``Regions/TurnLayout``): every turn gets the γ's the
/// released code would give it sent alone (the first and last turns with the row's leading and
/// trailing padding, as a single-turn row has), observation tokens none; then the row is
/// normalised once, the same way (positive weights on valid tokens clamped, divided by their
/// mean). A single-turn row is one segment, the whole row: bit-identical to the released code.
/// A turn where the released code would raise makes the whole row fall back.
public struct ReleasedProfile: WeightProfile {
    /// The registry name.
    public static let name = "released"
    /// The schedule this profile applies.
    public let config: ShapingConfig
    private let normalizer: RowNormalizer

    /// A profile for `config`; throws ``ShapingError`` for a config it cannot apply.
    public init(config: ShapingConfig = ShapingConfig.released) throws {
        try config.validate()
        self.config = config
        normalizer = RowNormalizer(config: config)
    }

    /// Writes the row's weights into `w` exactly as the released code computes them (see the type's description).
    public func weights(row: RolloutRow, gammas: GammaTable, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        let t = row.mask.count
        guard w.count >= t else { return fallBack(.invalidRow("weights \(w.count) < mask \(t)"), mask: row.mask, into: w) }
        guard let codec = row.codec else { return fallBack(.missingTokenizer, mask: row.mask, into: w) }
        guard row.ids.count >= t else { return fallBack(.invalidRow("ids \(row.ids.count) < mask \(t)"), mask: row.mask, into: w) }
        for i in 0..<w.count { w[i] = 0 }
        // Multi-turn rows (see Regions.TurnLayout): each parse segment — a turn, plus the row's
        // leading or trailing padding for the first and last — gets the γ's the released code
        // would give it as a row of its own; observations stay 0. A single-turn row has one
        // segment, the whole row: exactly the released computation. Then one normalisation over
        // the whole row, as for any row.
        let layout = TurnLayout(mask: row.mask)
        do {
            for s in layout.segments {
                try spanGammas(ids: UnsafeBufferPointer(rebasing: row.ids[s]), codec: codec, gammas: gammas,
                               into: UnsafeMutableBufferPointer(rebasing: w[s]))
            }
        } catch let e as ShapingError {
            return fallBack(e, mask: row.mask, into: w)
        } catch {
            return fallBack(.tokenizer("\(error)"), mask: row.mask, into: w)
        }
        normalizer.apply(w, mask: row.mask)
        return .ok
    }

    /// The released code's γ's of one row (before normalisation): decode `ids` with their pad
    /// strings, find the spans on that text, map them onto a re-tokenisation and max-combine the
    /// γ's into `w` (length = ids.count, zero on entry). Throws where the released code raised.
    private func spanGammas(ids: UnsafeBufferPointer<Int32>, codec: any ReleasedTextCodec, gammas: GammaTable,
                            into w: UnsafeMutableBufferPointer<Float>) throws {
        let text = try codec.releasedDecode(ids)
        var scalars: [UInt32] = []
        scalars.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars { scalars.append(u.value) }
        var spans: [ReleasedSpanFinder.Span] = []
        spans.reserveCapacity(16)
        scalars.withUnsafeBufferPointer { ReleasedSpanFinder.find($0, into: &spans) }
        guard !spans.isEmpty else { return }
        let offsets = try codec.releasedOffsets(text)
        try gammas.values.withUnsafeBufferPointer { g throws(ShapingError) in
            for s in spans {
                let (lo, hi) = try TokenSpanMapper.map(offsets, charLo: s.lo, charHi: s.hi)
                try TokenSpanMapper.applyMax(w, rowLength: w.count, lo: lo, hi: hi, gamma: g[Int(s.category)])
            }
        }
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
