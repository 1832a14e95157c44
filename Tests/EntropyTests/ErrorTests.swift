import Foundation
import Testing
import Entropy

/// Bad input gives typed errors naming the first bad row, for every dtype, kernel and thread count.
@Suite struct ErrorTests {
    static func rows(_ n: Int, vocab: Int) -> [[Float]] {
        (0..<n).map { RowKind.random.row(vocab: vocab, dtype: .fp32, seed: UInt64($0)) }
    }

    @Test(arguments: LogitsDType.allCases, EntropyKernel.Variant.allCases)
    func nanAndInfinity(dtype: LogitsDType, kernel: EntropyKernel.Variant) throws {
        for (bad, vocab) in [(Float.nan, 100), (.nan, 20_000), (.infinity, 9_000), (-.nan, 33)] {
            var rows = Self.rows(10, vocab: vocab)
            rows[7][vocab / 2] = bad
            for threads in [1, 2, 4] {
                #expect(throws: EntropyError.nonFinite(row: 7)) {
                    _ = try kernelEntropies(rows, dtype: dtype, threads: threads, kernel: kernel)
                }
            }
            rows[2][vocab - 1] = bad   // the first bad row in row order is reported
            #expect(throws: EntropyError.nonFinite(row: 2)) { _ = try kernelEntropies(rows, dtype: dtype, threads: 2, kernel: kernel) }
        }
    }

    /// A NaN hidden in a group the skipping kernel would skip (far below a high maximum).
    @Test(arguments: LogitsDType.allCases)
    func nanInSkippedRegion(dtype: LogitsDType) throws {
        var row = [Float](repeating: -60, count: 30_000)
        row[0] = 60
        row[20_001] = .nan
        #expect(throws: EntropyError.nonFinite(row: 0)) { _ = try kernelEntropies([row], dtype: dtype) }
        row[20_001] = -60
        #expect(try kernelEntropies([row], dtype: dtype)[0] <= 1e-6)
    }

    @Test(arguments: LogitsDType.allCases, EntropyKernel.Variant.allCases)
    func allMasked(dtype: LogitsDType, kernel: EntropyKernel.Variant) throws {
        for vocab in [1, 31, 5_000] {
            var rows = Self.rows(4, vocab: vocab)
            rows[3] = [Float](repeating: -.infinity, count: vocab)
            #expect(throws: EntropyError.allMasked(row: 3)) { _ = try kernelEntropies(rows, dtype: dtype, kernel: kernel) }
        }
    }

    @Test func shapesAndArguments() throws {
        let bytes = [UInt8](repeating: 0, count: 4 * 12)
        var out = [Float](repeating: 0, count: 3)
        func call(rows: Int, vocab: Int, dtype: LogitsDType = .fp32, temperature: Float = 1, threads: Int = 0, outCount: Int = 3) throws {
            try bytes.withUnsafeBytes { raw in
                try out.withUnsafeMutableBufferPointer { o in
                    try EntropyKernel.entropies(logits: raw, dtype: dtype, rows: rows, vocab: vocab, temperature: temperature,
                                                threads: threads, into: UnsafeMutableBufferPointer(rebasing: o[0..<outCount]))
                }
            }
        }
        try call(rows: 3, vocab: 4)
        #expect(abs(Double(out[0]) - log(4.0)) <= 1e-6)
        try call(rows: 2, vocab: 12, dtype: .bf16)
        #expect(throws: EntropyError.self) { try call(rows: 3, vocab: 5) }           // byte count
        #expect(throws: EntropyError.self) { try call(rows: 3, vocab: 4, dtype: .fp16) }
        #expect(throws: EntropyError.self) { try call(rows: 0, vocab: 0) }
        #expect(throws: EntropyError.self) { try call(rows: 3, vocab: 4, outCount: 2) }
        #expect(throws: EntropyError.self) { try call(rows: 3, vocab: 4, threads: -1) }
        for t in [Float(0), -1, .nan, .infinity] {
            var typed = false
            do { try call(rows: 3, vocab: 4, temperature: t) } catch EntropyError.temperature { typed = true }
            #expect(typed, "temperature \(t) not rejected as .temperature")
        }
        #expect(EntropyError.nonFinite(row: 4).description.contains("row 4"))
        #expect(EntropyError.allMasked(row: 9).description.contains("row 9"))
    }
}
