import Entropy

/// Deterministic test RNG: the project's SplitMix64 with Float helpers.
struct TestRNG {
    var base: SplitMix64
    init(_ seed: UInt64) { base = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { base.next() }
    mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
    mutating func uniform(_ a: Float, _ b: Float) -> Float { a + (b - a) * uniform() }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// The row families every kernel is checked on.
enum RowKind: String, CaseIterable, Sendable {
    case random, peaked, flat, masked, extreme

    /// One row of length `vocab` of this kind, representable in `dtype` without overflow.
    func row(vocab: Int, dtype: LogitsDType, seed: UInt64) -> [Float] {
        var rng = TestRNG(seed)
        let big: Float = dtype == .fp16 ? 60000 : 3e38
        switch self {
        case .random:
            return (0..<vocab).map { _ in rng.uniform(-12, 12) }
        case .peaked:
            var r = (0..<vocab).map { _ in rng.uniform(-4, 4) }
            r[rng.below(vocab)] = 38
            if vocab > 1 { r[rng.below(vocab)] = 33 }
            return r
        case .flat:
            return [Float](repeating: 1.25, count: vocab)
        case .masked:
            var r = (0..<vocab).map { _ in rng.uniform() < 0.7 ? -Float.infinity : rng.uniform(-6, 6) }
            r[rng.below(vocab)] = 2  // at least one finite value
            return r
        case .extreme:
            // Huge and tiny magnitudes, −inf, and values within a hair of each other.
            return (0..<vocab).map { i in
                switch i % 7 {
                case 0: return big
                case 1: return -big
                case 2: return -.infinity
                case 3: return big * 0.999
                case 4: return rng.uniform(-1e-30, 1e-30)
                case 5: return big - big * 0.001 * rng.uniform()
                default: return rng.uniform(-5, 5)
                }
            }
        }
    }
}

/// Runs the full-row kernel on float rows encoded as `dtype`.
func kernelEntropies(_ rows: [[Float]], dtype: LogitsDType, temperature: Float = 1, threads: Int = 0,
                     kernel: EntropyKernel.Variant = .automatic) throws -> [Float] {
    let vocab = rows.first?.count ?? 1
    let bytes = LogitsCodec.encode(rows.flatMap { $0 }, as: dtype)
    var out = [Float](repeating: -1, count: rows.count)
    try bytes.withUnsafeBytes { raw in
        try out.withUnsafeMutableBufferPointer {
            try EntropyKernel.entropies(logits: raw, dtype: dtype, rows: rows.count, vocab: vocab,
                                        temperature: temperature, threads: threads, kernel: kernel, into: $0)
        }
    }
    return out
}

/// Float64 reference entropy of a float row after rounding it to `dtype`.
func referenceEntropy(_ row: [Float], dtype: LogitsDType, temperature: Double = 1) -> Double? {
    let bytes = LogitsCodec.encode(row, as: dtype)
    return bytes.withUnsafeBytes { EntropyKernel.referenceEntropy(logits: $0, dtype: dtype, vocab: row.count, row: 0, temperature: temperature) }
}
