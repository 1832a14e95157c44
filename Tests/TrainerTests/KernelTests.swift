import CTensor
import Foundation
import Testing
import Trainer

/// The CPU kernels (vector and portable paths, row-parallel on the pool) against plain float64
/// references of the maths stated in ctensor.c.
@Suite(.serialized) struct KernelTests {
    /// Runs `body` with the vector kernels and again with the portable ones.
    func bothPaths(_ body: (String) throws -> Void) rethrows {
        defer { _ = ct_use_vector_kernels(1) }
        for vector in [true, false] {
            let on = ct_use_vector_kernels(vector ? 1 : 0) != 0
            if vector && !on { continue }  // no AVX2 here: the portable run covers it
            try body(on ? "vector" : "portable")
        }
    }

    func values(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = TrainerRNG(seed: seed)
        return (0..<n).map { _ in Float(rng.normal()) * scale }
    }

    func close(_ a: [Float], _ b: [Double], rel: Double, abs floor: Double = 1e-6, _ what: String) {
        #expect(a.count == b.count)
        var worst = 0.0, at = 0
        for i in 0..<min(a.count, b.count) {
            let e = abs(Double(a[i]) - b[i]) / (abs(b[i]) * rel + floor)
            if e > worst { worst = e; at = i }
        }
        #expect(worst <= 1, "\(what): element \(at) is \(a[at]), reference \(b[at])")
    }

    @Test(arguments: [(37, 256), (300, 35), (3, 1)])
    func rmsNorm(rows: Int, dim: Int) {
        let x = values(rows * dim, seed: 1), w = values(dim, seed: 2), dy = values(rows * dim, seed: 3)
        let eps: Float = 1e-6
        var yRef = [Double](repeating: 0, count: rows * dim), dxRef = yRef, dwRef = [Double](repeating: 0.5, count: dim)
        for r in 0..<rows {
            var ss = 0.0
            for i in 0..<dim { ss += Double(x[r * dim + i]) * Double(x[r * dim + i]) }
            let rs = 1 / (ss / Double(dim) + Double(eps)).squareRoot()
            var dot = 0.0
            for i in 0..<dim { dot += Double(w[i]) * Double(dy[r * dim + i]) * Double(x[r * dim + i]) }
            for i in 0..<dim {
                let xi = Double(x[r * dim + i]), d = Double(dy[r * dim + i])
                yRef[r * dim + i] = xi * rs * Double(w[i])
                dxRef[r * dim + i] = rs * Double(w[i]) * d - rs * rs * rs / Double(dim) * dot * xi
                dwRef[i] += d * xi * rs
            }
        }
        bothPaths { path in
            var y = [Float](repeating: 0, count: rows * dim), rstd = [Float](repeating: 0, count: rows)
            ct_rmsnorm_fwd(x, w, &y, &rstd, rows, dim, eps)
            close(y, yRef, rel: 1e-5, "rmsnorm fwd (\(path))")
            var dx = dy, dw = [Float](repeating: 0.5, count: dim)
            ct_rmsnorm_bwd(x, w, rstd, dx, &dx, &dw, rows, dim)   // dx aliases dy, as the model calls it
            close(dx, dxRef, rel: 1e-4, abs: 1e-5, "rmsnorm dx (\(path))")
            close(dw, dwRef, rel: 1e-4, abs: 1e-4, "rmsnorm dw (\(path))")
        }
    }

    @Test func siluMul() {
        var g = values(10_001, seed: 4, scale: 4)
        g[0] = 100; g[1] = -100; g[2] = 1e-4; g[3] = -90; g[4] = 0
        let u = values(g.count, seed: 5), da = values(g.count, seed: 6)
        var aRef = [Double](), dgRef = [Double](), duRef = [Double]()
        for i in g.indices {
            let gi = Double(g[i]), s = 1 / (1 + Foundation.exp(-gi))
            aRef.append(gi * s * Double(u[i]))
            dgRef.append(Double(da[i]) * Double(u[i]) * s * (1 + gi * (1 - s)))
            duRef.append(Double(da[i]) * gi * s)
        }
        bothPaths { path in
            var a = [Float](repeating: 0, count: g.count), dg = a, du = a
            ct_silu_mul_fwd(g, u, &a, g.count)
            ct_silu_mul_bwd(g, u, da, &dg, &du, g.count)
            close(a, aRef, rel: 2e-6, "silu·u (\(path))")
            close(dg, dgRef, rel: 2e-6, "dg (\(path))")
            close(du, duRef, rel: 2e-6, "du (\(path))")
        }
    }

    @Test(arguments: [(9, 1003, Float(1)), (4, 8192, Float(1 / 0.7))])
    func logProbEntropyAndGradient(rows: Int, vocab: Int, invTemp: Float) {
        var logits = values(rows * vocab, seed: 7, scale: 3)
        logits[5] = 40      // a peaked row
        let targets = (0..<rows).map { Int32(($0 * 7919) % vocab) }
        var coef = (0..<rows).map { Float($0 % 3) - 1 }   // includes 0 (the row is zeroed)
        coef[0] = 0.25
        var lpRef = [Double](), hRef = [Double](), gRef = [Double]()
        for r in 0..<rows {
            let z = (0..<vocab).map { Double(logits[r * vocab + $0] * invTemp) }
            let mx = z.max()!
            let s = z.reduce(0) { $0 + Foundation.exp($1 - mx) }
            let lse = mx + Foundation.log(s)
            lpRef.append(z[Int(targets[r])] - lse)
            hRef.append(lse - z.reduce(0) { $0 + Foundation.exp($1 - lse) * $1 })
            let c = Double(coef[r] * invTemp)
            for i in 0..<vocab { gRef.append(c * ((i == Int(targets[r]) ? 1 : 0) - Foundation.exp(z[i] - lse))) }
        }
        bothPaths { path in
            var lp = [Float](repeating: 0, count: rows), h = lp
            ct_logprob_entropy(logits, targets, rows, vocab, invTemp, &lp, &h)
            close(lp, lpRef, rel: 1e-5, abs: 1e-5, "log p (\(path))")
            close(h, hRef, rel: 1e-5, abs: 1e-5, "entropy (\(path))")
            var grad = logits
            ct_logprob_grad(&grad, targets, coef, rows, vocab, invTemp)
            close(grad, gRef, rel: 1e-5, abs: 1e-8, "d log p (\(path))")
        }
    }

    @Test func adamWAndSumOfSquares() {
        let n = 40_003
        let p0 = values(n, seed: 8), g = values(n, seed: 9), m0 = values(n, seed: 10, scale: 0.1)
        let v0 = values(n, seed: 11, scale: 0.1).map { $0 * $0 }
        let (lr, b1, b2, eps, wd, bc1, bc2): (Float, Float, Float, Float, Float, Float, Float) = (1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001)
        var pRef = [Double]()
        for i in 0..<n {
            let m = Double(b1) * Double(m0[i]) + Double(1 - b1) * Double(g[i])
            let v = Double(b2) * Double(v0[i]) + Double(1 - b2) * Double(g[i]) * Double(g[i])
            pRef.append(Double(p0[i]) - Double(lr) * (Double(wd) * Double(p0[i]) + (m / Double(bc1)) / ((v / Double(bc2)).squareRoot() + Double(eps))))
        }
        let ssRef = p0.reduce(0.0) { $0 + Double($1) * Double($1) }
        bothPaths { path in
            var p = p0, m = m0, v = v0
            ct_adamw(&p, g, &m, &v, n, lr, b1, b2, eps, wd, bc1, bc2)
            close(p, pRef, rel: 1e-5, abs: 1e-6, "adamw (\(path))")
            #expect(abs(ct_sumsq(p0, n) - ssRef) <= 1e-9 * ssRef, "sumsq (\(path))")
        }
    }

    @Test func panelGEMMMatchesTheReference() {
        // The pool's panel split (both split directions, every transpose) against float64.
        let split: BLASCore.GEMM = { ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            ct_sgemm(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
        #expect(BLASCore.selfCheck(gemm: split) <= 1)
        #expect(ct_pool_threads() >= 1)
    }

    @Test func attentionBatchSplitIsBitIdentical() {
        // B = 5 rows, left padding on two of them: the pool's row split must not change a bit.
        let (b, t, hq, hkv, hd) = (5, 37, 4, 2, 16)
        let q = values(b * t * hq * hd, seed: 12), k = values(b * hkv * t * hd, seed: 13), v = values(b * hkv * t * hd, seed: 14)
        let dout = values(b * t * hq * hd, seed: 15)
        let starts: [Int32] = [0, 3, 0, 10, 1]
        let scale = 1 / Float(hd).squareRoot()
        var out1 = [Float](repeating: 0, count: q.count), out2 = out1
        var lse1 = [Float](repeating: 0, count: b * hq * t), lse2 = lse1
        ct_attention_fwd(q, k, v, &out1, &lse1, starts, b, t, hq, hkv, hd, t, 0, scale)
        ct_attention_fwd_parallel(q, k, v, &out2, &lse2, starts, b, t, hq, hkv, hd, t, 0, scale)
        #expect(out1 == out2 && lse1 == lse2)
        var dq1 = [Float](repeating: 0, count: q.count), dk1 = [Float](repeating: 0, count: k.count), dv1 = dk1
        var dq2 = dq1, dk2 = dk1, dv2 = dv1
        ct_attention_bwd(q, k, v, out1, lse1, dout, &dq1, &dk1, &dv1, starts, b, t, hq, hkv, hd, scale)
        ct_attention_bwd_parallel(q, k, v, out1, lse1, dout, &dq2, &dk2, &dv2, starts, b, t, hq, hkv, hd, scale)
        #expect(dq1 == dq2 && dk1 == dk2 && dv1 == dv2)
        #expect(dq1.contains { $0 != 0 })
    }
}
