// The stable entry point of the `RestShaperCore` library product: one `import RestShaperCore`
// brings the shaping engine and the types it takes and returns, and the few conveniences below
// cover the common embedding (no socket, no padding by hand):
//
//     let engine = try ShapingEngine(tokenizerPath: "tokenizer.json")
//     let request = try ShapeRequest(rows: ids, masks: masks, groundTruths: truths, step: step)
//     let result = try engine.shape(request)
//     result.weights(row: 0); result.rewards; result.categories(row: 0); result.rolloutStatus
//
// The modules re-exported here are the library's public surface; everything else in the package
// (wire protocol, sidecar, trainer, CLI) is an application built on it.
@_exported import Entropy
@_exported import Pipeline
@_exported import Regions
@_exported import Rewards
@_exported import Shaping
@_exported import Tokenization

extension ShapingEngine {
    /// An engine for the tokenizer at `tokenizerPath`: a HuggingFace `tokenizer.json` (a path
    /// ending in `.json`) or a tiktoken rank file such as Qwen3's `qwen.tiktoken` (loaded with
    /// Qwen3's added tokens). `config` sets the schedule (γ per region, normalisation);
    /// `threads` = 0 uses every core. Throws `TokenizerError` for a file it cannot read.
    public convenience init(tokenizerPath: String, config: ShapingConfig = ShapingConfig(), threads: Int = 0) throws {
        self.init(tokenizer: try Tokenizer.load(path: tokenizerPath), config: config, threads: threads)
    }
}

extension ShapeRequest {
    /// A request from rows of different lengths: each row is right-padded with token 0 and mask 0
    /// to the longest row (padding is never weighted). `masks[b]` must have `rows[b]`'s length,
    /// and there is one ground truth per row; otherwise ``ShapeError/shape(_:)``.
    public init(rows: [[Int32]], masks: [[Float]], groundTruths: [String], step: Int,
                options: ShapeOptions = ShapeOptions()) throws {
        guard masks.count == rows.count, groundTruths.count == rows.count else {
            throw ShapeError.shape("\(rows.count) rows, \(masks.count) masks, \(groundTruths.count) ground truths")
        }
        let length = rows.map(\.count).max() ?? 0
        var ids = [Int32](repeating: 0, count: rows.count * length)
        var mask = [Float](repeating: 0, count: rows.count * length)
        for (b, row) in rows.enumerated() {
            guard masks[b].count == row.count else {
                throw ShapeError.shape("row \(b): \(row.count) tokens but \(masks[b].count) mask values")
            }
            ids.replaceSubrange(b * length ..< b * length + row.count, with: row)
            mask.replaceSubrange(b * length ..< b * length + row.count, with: masks[b])
        }
        self.init(inputIDs: ids, mask: mask, batch: rows.count, length: length, groundTruths: groundTruths,
                  step: step, options: options)
    }
}

extension ShapeResult {
    /// Rollouts in the batch.
    public var batch: Int { rolloutStatus.count }

    /// Tokens per row (the padded length of the request).
    public var length: Int { batch == 0 ? 0 : weights.count / batch }

    /// The weights of row `row` (padded length; zero on padding and wherever the mask is zero).
    public func weights(row: Int) -> ArraySlice<Float> { weights[row * length ..< (row + 1) * length] }

    /// The token categories of row `row` (``TokenCategory`` values).
    public func categories(row: Int) -> [TokenCategory] {
        categories[row * length ..< (row + 1) * length].map { TokenCategory(rawValue: $0) ?? .outside }
    }
}
