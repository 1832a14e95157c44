import Foundation
import Testing
import Entropy

/// bf16 / fp16 handling is exact: the C kernels' widening, the Swift codec and Swift's Float16 agree
/// on every bit pattern, and narrowing rounds to nearest-even like Float16's initialiser.
@Suite struct ConversionTests {
    @Test func fp16WideningAllPatterns() {
        for bits in 0...UInt16.max {
            let c = EntropyKernel.kernelWiden(bits, dtype: .fp16)!
            let s = LogitsCodec.fp16ToFloat(bits)
            #if !(os(macOS) && arch(x86_64))
            let std = Float(Float16(bitPattern: bits))
            #expect(c.bitPattern == std.bitPattern || (c.isNaN && std.isNaN), "fp16 \(bits)")
            #endif
            #expect(c.bitPattern == s.bitPattern || (c.isNaN && s.isNaN), "fp16 \(bits)")
        }
    }

    @Test func bf16WideningAllPatterns() {
        for bits in 0...UInt16.max {
            let c = EntropyKernel.kernelWiden(bits, dtype: .bf16)!
            #expect(c.bitPattern == UInt32(bits) << 16)
            #expect(LogitsCodec.bf16ToFloat(bits).bitPattern == c.bitPattern)
        }
        #expect(EntropyKernel.kernelWiden(1, dtype: .fp32) == nil)
    }

    @Test func narrowingRoundsToNearestEven() {
        var rng = TestRNG(42)
        var samples: [Float] = [0, -0, 1, 65504, 65519.99, 65520, -65520, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-14,
                                0x1.ffcp-15, 1 + 0x1p-11, 1 + 0x1.8p-10, 3e38, -3e38, .infinity, -.infinity, 0x1.fffep127]
        for _ in 0..<200_000 { samples.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        for f in samples where !f.isNaN {
            #if !(os(macOS) && arch(x86_64))
            #expect(LogitsCodec.floatToFP16(f) == Float16(f).bitPattern, "fp16 of \(f)")
            #endif
            // bf16: the result is one of the two neighbours, the nearer one, ties to an even mantissa.
            let b = LogitsCodec.floatToBF16(f)
            let down = UInt16(f.bitPattern >> 16), up = down &+ 1
            let err = { (h: UInt16) in abs(Double(LogitsCodec.bf16ToFloat(h)) - Double(f)) }
            #expect(b == down || b == up, "bf16 of \(f)")
            if f.isFinite && LogitsCodec.bf16ToFloat(up).isFinite {
                #expect(err(b) <= min(err(down), err(up)), "bf16 of \(f)")
                if err(down) == err(up) { #expect(b & 1 == 0) }
            }
        }
        #expect(LogitsCodec.bf16ToFloat(LogitsCodec.floatToBF16(.nan)).isNaN)
        #expect(LogitsCodec.fp16ToFloat(LogitsCodec.floatToFP16(.nan)).isNaN)
    }

    /// The vector paths (F16C conversion, bf16 shift/mask split) on rows holding every finite 16-bit
    /// value, at a temperature that makes every value matter.
    @Test(arguments: [LogitsDType.fp16, .bf16])
    func vectorPathsSeeEveryValue(dtype: LogitsDType) throws {
        var bytes = [UInt8]()
        var count = 0
        for bits in 0...UInt16.max {
            let f = dtype == .fp16 ? LogitsCodec.fp16ToFloat(bits) : LogitsCodec.bf16ToFloat(bits)
            guard f.isFinite, abs(f) <= 70_000 else { continue }
            bytes.append(UInt8(bits & 0xff)); bytes.append(UInt8(bits >> 8))
            count += 1
        }
        var out: [Float] = [0]
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer {
                try EntropyKernel.entropies(logits: raw, dtype: dtype, rows: 1, vocab: count, temperature: 30_000, into: $0)
            }
        }
        let ref = bytes.withUnsafeBytes { EntropyKernel.referenceEntropy(logits: $0, dtype: dtype, vocab: count, row: 0, temperature: 30_000)! }
        #expect(abs(Double(out[0]) - ref) <= 1e-4, "\(dtype): \(out[0]) vs \(ref)")
    }
}
