import Foundation
import Testing
import Benchmarks
import Entropy

/// The skip's error bound, proved in entropy_avx2.c: a skipped value has final probability
/// ≤ e^{−T}, so the skipped mass is ε ≤ V·e^{−T} and |H − H_kept| ≤ h(ε) + ε·ln V.
@Suite struct SkipBoundTests {
    /// The bound formula itself, recomputed here from T: h(ε) + ε ln V with ε = V e^{−T}.
    @Test(arguments: [1_000, 151_936, 262_144])
    func boundFormula(vocab: Int) {
        let t = EntropyKernel.skipThreshold(vocab: vocab)
        let eps = Double(vocab) * exp(-t)
        let h = -eps * log(eps) - (1 - eps) * log1p(-eps)
        #expect(abs(EntropyKernel.skipErrorBound(vocab: vocab) - (h + eps * log(Double(vocab)))) <= 1e-12)
        #expect(EntropyKernel.skipErrorBound(vocab: vocab) <= 1e-5)   // a tenth of the 1e−4 target
        #expect(t > 20 && t < 40)
    }

    /// Worst case: the maximum first, then V−1 values just below the threshold. All of them are
    /// skipped, so the kernel returns ≈ the entropy of the max alone, while the true entropy is
    /// ≈ h(ε) + ε·ln(V−1), the bound itself. The error must stay within the bound and (to show the
    /// case is really the worst one and the skip really happened) exceed half of it.
    @Test(arguments: [151_936, 262_144])
    func worstCase(vocab: Int) throws {
        let t = EntropyKernel.skipThreshold(vocab: vocab)
        var row = [Float](repeating: Float(-t - 1e-3), count: vocab)
        row[0] = 0
        let ref = referenceEntropy(row, dtype: .fp32)!
        let bound = EntropyKernel.skipErrorBound(vocab: vocab)
        let skipped = Double(try kernelEntropies([row], dtype: .fp32, kernel: .automatic)[0])
        let plain = Double(try kernelEntropies([row], dtype: .fp32, kernel: .plain)[0])
        #expect(abs(plain - ref) <= 1e-6, "plain kernel \(plain) vs reference \(ref)")
        #expect(abs(skipped - ref) <= bound + 1e-6, "skip error \(abs(skipped - ref)) > bound \(bound)")
        if EntropyKernel.hasVectorKernels {  // the float64 path (no AVX2) never skips
            #expect(ref - skipped >= 0.5 * bound, "the worst case did not skip: error \(ref - skipped), bound \(bound)")
        }
    }

    /// The same worst case with bf16 storage (values rounded to −27 < −T) and through two threads.
    @Test func worstCaseBF16() throws {
        let vocab = 151_936
        let t = EntropyKernel.skipThreshold(vocab: vocab)
        var row = [Float](repeating: Float(-t - 0.2), count: vocab)
        row[0] = 0
        let rows = [row, row, row]
        let ref = referenceEntropy(row, dtype: .bf16)!
        for h in try kernelEntropies(rows, dtype: .bf16, threads: 2) {
            #expect(abs(Double(h) - ref) <= EntropyKernel.skipErrorBound(vocab: vocab) + 1e-6)
        }
    }

    /// Values just above the threshold must not be skipped: the result stays at reference accuracy.
    @Test func justAboveThresholdIsKept() throws {
        let vocab = 151_936
        let t = EntropyKernel.skipThreshold(vocab: vocab)
        var row = [Float](repeating: Float(-t + 0.05), count: vocab)
        row[0] = 0
        let ref = referenceEntropy(row, dtype: .fp32)!
        #expect(abs(Double(try kernelEntropies([row], dtype: .fp32)[0]) - ref) <= 1e-6)
    }

    /// On peaked LM-like rows the skipping kernel agrees with the plain one far inside the bound.
    @Test func peakedRowsAgreeWithPlain() throws {
        let vocab = 50_000
        let flat = SyntheticLogits.generate(rows: 8, vocab: vocab, profile: .peaked, seed: 5)
        let rows = (0..<8).map { Array(flat[($0 * vocab)..<(($0 + 1) * vocab)]) }
        let a = try kernelEntropies(rows, dtype: .fp32, kernel: .automatic)
        let b = try kernelEntropies(rows, dtype: .fp32, kernel: .plain)
        for r in 0..<8 {
            #expect(abs(Double(a[r] - b[r])) <= EntropyKernel.skipErrorBound(vocab: vocab) + 1e-6)
            #expect(abs(Double(a[r]) - referenceEntropy(rows[r], dtype: .fp32)!) <= 1e-4)
        }
    }
}

/// The skip really happens where it can and never where it cannot.
@Suite struct SkipCountTests {
    static func skipped(_ profile: SyntheticLogits.Profile, kernel: EntropyKernel.Variant) throws -> Double {
        let (rows, vocab) = (6, 40_000)
        let logits = SyntheticLogits.generate(rows: rows, vocab: vocab, profile: profile, seed: 2)
        var out = [Float](repeating: 0, count: rows)
        let n = try logits.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer {
                try EntropyKernel.entropiesCountingSkips(logits: raw, dtype: .fp32, rows: rows, vocab: vocab, kernel: kernel, into: $0)
            }
        }
        return Double(n) / Double(rows * ((vocab + 31) / 32))
    }

    @Test func peakedRowsSkipMostGroups() throws {
        // Without AVX2 every variant runs the float64 path, which never skips.
        #expect(try Self.skipped(.peaked, kernel: .automatic) > (EntropyKernel.hasVectorKernels ? 0.5 : -1))
        #expect(try Self.skipped(.peaked, kernel: .plain) == 0)
        #expect(try Self.skipped(.broad, kernel: .automatic) == 0)
    }
}
