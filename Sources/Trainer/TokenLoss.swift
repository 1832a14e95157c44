/// The LM head and a per-token loss on selected rows of a ``Qwen3Model/HiddenPass`` only.
///
/// A policy-gradient or supervised loss needs next-token log-probabilities at the response
/// positions alone. Logits are computed for `chunkRows` rows at a time and dropped after their
/// backward, so the head costs `chunkRows × vocab` floats of memory (a 151,936-entry vocabulary
/// over every position of a batch would not fit) and no work on prompt positions.
public struct TokenLoss: Sendable {
    public let model: Qwen3Model
    /// Most rows whose logits exist at once.
    public let chunkRows: Int

    public init(model: Qwen3Model, chunkRows: Int = 256) {
        self.model = model; self.chunkRows = max(1, chunkRows)
    }

    /// The chunks of `segments` (ranges of pass rows): (segment index, rows).
    func chunks(_ segments: [Range<Int>]) -> [(segment: Int, rows: Range<Int>)] {
        var out: [(Int, Range<Int>)] = []
        for (i, seg) in segments.enumerated() {
            var lo = seg.lowerBound
            while lo < seg.upperBound {
                let hi = min(lo + chunkRows, seg.upperBound)
                out.append((i, lo..<hi)); lo = hi
            }
        }
        return out
    }

    /// log π(targets[row]) for every row of `segments` (concatenated in segment order) at
    /// `invTemperature`, and the rows' entropies when `entropies` is set. No gradient.
    public func logProbs(_ pass: Qwen3Model.HiddenPass, segments: [Range<Int>], targets: [Int32], invTemperature: Float,
                         entropies: Bool = false) -> (logProbs: [Float], entropies: [Float]) {
        let be = model.backend, vocab = model.config.vocabSize
        var lp: [Float] = [], ent: [Float] = []
        for (_, rows) in chunks(segments) {
            let logits = model.headLogits(pass, rows: rows)
            let l = be.makeTensor(count: rows.count), e = entropies ? be.makeTensor(count: rows.count) : nil
            be.logProbAndEntropy(logits: logits, targets: Array(targets[rows]), rows: rows.count, vocab: vocab,
                                 invTemperature: invTemperature, logProb: l, entropy: e)
            lp += be.download(l)
            if let e { ent += be.download(e) }
        }
        return (lp, ent)
    }

    /// For each chunk: the rows' log-probabilities go to `coefficients(segment, offsets, logp)`,
    /// which returns ∂loss/∂logp for those rows (`offsets` are positions within the segment);
    /// then the head's backward accumulates into `dHidden` (`[batch·time, hidden]`) and the
    /// head's gradient in `grads`. Run ``Qwen3Model/backward(_:dHidden:into:)`` afterwards.
    public func backward(_ pass: Qwen3Model.HiddenPass, segments: [Range<Int>], targets: [Int32], invTemperature: Float,
                         dHidden: Tensor, grads: ParameterSet,
                         coefficients: (_ segment: Int, _ offsets: Range<Int>, _ logProbs: [Float]) throws -> [Float]) rethrows {
        let be = model.backend, vocab = model.config.vocabSize
        for (i, rows) in chunks(segments) {
            let logits = model.headLogits(pass, rows: rows)
            let l = be.makeTensor(count: rows.count)
            let tgt = Array(targets[rows])
            be.logProbAndEntropy(logits: logits, targets: tgt, rows: rows.count, vocab: vocab, invTemperature: invTemperature,
                                 logProb: l, entropy: nil)
            let start = segments[i].lowerBound
            let coef = try coefficients(i, (rows.lowerBound - start)..<(rows.upperBound - start), be.download(l))
            precondition(coef.count == rows.count, "one coefficient per row")
            if coef.allSatisfy({ $0 == 0 }) { continue }
            be.logProbBackward(logits: logits, targets: tgt, coef: coef, rows: rows.count, vocab: vocab, invTemperature: invTemperature)
            model.headBackward(pass, dLogits: logits, rows: rows, dHidden: dHidden, grads: grads)
        }
    }
}
