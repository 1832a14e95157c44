import Foundation
import Testing
import Benchmarks
import Entropy

/// Top-k entropy: the estimate ± bound must contain the exact entropy of the full row.
@Suite struct TopKTests {
    /// Exact entropy and float32 logsumexp of a full row, and its k largest logits.
    static func pieces(_ row: [Float], k: Int) -> (h: Double, lse: Float, top: [Float]) {
        let m = Double(row.max()!)
        let s = row.reduce(0.0) { $0 + exp(Double($1) - m) }
        let lse = m + log(s)
        let h = -row.reduce(0.0) { acc, x in let lp = Double(x) - lse; return acc + exp(lp) * lp }
        return (h, Float(lse), Array(row.sorted(by: >).prefix(k)))
    }

    static func run(_ rows: [[Float]], k: Int) throws -> (est: [Float], bound: [Float]) {
        let vocab = rows[0].count
        let parts = rows.map { pieces($0, k: k) }
        let top = parts.flatMap { $0.top }, lse = parts.map { $0.lse }
        var est = [Float](repeating: 0, count: rows.count), bound = est
        try top.withUnsafeBufferPointer { t in
            try lse.withUnsafeBufferPointer { l in
                try est.withUnsafeMutableBufferPointer { e in
                    try bound.withUnsafeMutableBufferPointer { b in
                        try EntropyKernel.entropiesTopK(topLogits: t, k: k, logsumexp: l, vocab: vocab, rows: rows.count, into: e, bounds: b)
                    }
                }
            }
        }
        return (est, bound)
    }

    @Test(arguments: [1, 5, 64, 1_000, 5_000])
    func boundHonoured(k: Int) throws {
        let vocab = 5_000
        let lm = SyntheticLogits.generate(rows: 3, vocab: vocab, profile: .lm, seed: 9)
        var rows = (0..<3).map { Array(lm[($0 * vocab)..<(($0 + 1) * vocab)]) }
        rows.append(RowKind.random.row(vocab: vocab, dtype: .fp32, seed: 1))
        rows.append(RowKind.peaked.row(vocab: vocab, dtype: .fp32, seed: 2))
        rows.append(RowKind.flat.row(vocab: vocab, dtype: .fp32, seed: 3))
        // Adversarial tails: uniform below the top (the upper end of the interval) and tails piled
        // at the top-k minimum (the lower end).
        var uniformTail = [Float](repeating: -9, count: vocab)
        for i in 0..<min(k, 10) { uniformTail[i] = Float(4 - i) }
        rows.append(uniformTail)
        rows.append((0..<vocab).map { $0 < 3 ? 5 : 1 })
        let (est, bound) = try Self.run(rows, k: k)
        for (r, row) in rows.enumerated() {
            let h = Self.pieces(row, k: k).h
            #expect(bound[r] >= 0)
            #expect(abs(Double(est[r]) - h) <= Double(bound[r]) + 1e-6, "k=\(k) row \(r): \(est[r]) ± \(bound[r]) vs \(h)")
            if k == vocab { #expect(bound[r] <= 1e-4) }
        }
    }

    /// When the top-k hold almost all the mass, the bound is small and the estimate accurate.
    @Test func peakedRowsAreTight() throws {
        var row = [Float](repeating: -30, count: 100_000)
        row[0] = 10; row[1] = 8; row[2] = 7
        let (est, bound) = try Self.run([row], k: 3)
        #expect(bound[0] < 1e-4)
        #expect(abs(Double(est[0]) - Self.pieces(row, k: 3).h) <= 1e-4)
    }

    @Test func errorsAreTyped() throws {
        var out = [Float](repeating: 0, count: 2)
        func call(_ top: [Float], k: Int, lse: [Float], vocab: Int, rows: Int) throws {
            try top.withUnsafeBufferPointer { t in
                try lse.withUnsafeBufferPointer { l in
                    try out.withUnsafeMutableBufferPointer { o in
                        try EntropyKernel.entropiesTopK(topLogits: t, k: k, logsumexp: l, vocab: vocab, rows: rows, into: o, bounds: nil)
                    }
                }
            }
        }
        #expect(throws: EntropyError.nonFinite(row: 1)) { try call([1, 0, .nan, 0], k: 2, lse: [2, 2], vocab: 10, rows: 2) }
        #expect(throws: EntropyError.nonFinite(row: 0)) { try call([1, 0, 1, 0], k: 2, lse: [.infinity, 2], vocab: 10, rows: 2) }
        #expect(throws: EntropyError.allMasked(row: 1)) { try call([1, 0, -.infinity, -.infinity], k: 2, lse: [2, 2], vocab: 10, rows: 2) }
        #expect(throws: EntropyError.self) { try call([1, 0, 1, 0], k: 2, lse: [2, 2], vocab: 1, rows: 2) }  // k > vocab
        #expect(throws: EntropyError.self) { try call([1, 0, 1], k: 2, lse: [2, 2], vocab: 10, rows: 2) }    // count
        #expect(throws: EntropyError.self) { try call([], k: 0, lse: [], vocab: 10, rows: 0) }              // k = 0
    }

    @Test func passThroughValidates() throws {
        var out = [Float](repeating: 0, count: 3)
        let good: [Float] = [0, 1.5, 11.9]
        try good.withUnsafeBufferPointer { g in try out.withUnsafeMutableBufferPointer { try EntropyKernel.passThrough(g, into: $0) } }
        #expect(out == good)
        for (bad, row) in [([Float(1), 2, -0.5], 2), ([Float.nan, 1, 1], 0), ([Float(1), .infinity, 1], 1)] {
            var thrownRow: Int?
            do {
                try bad.withUnsafeBufferPointer { g in try out.withUnsafeMutableBufferPointer { try EntropyKernel.passThrough(g, into: $0) } }
            } catch let EntropyError.invalidEntropy(row: r, value: _) {
                thrownRow = r
            }
            #expect(thrownRow == row)
        }
    }
}
