import CTensor
import Testing
import Trainer

/// The tiled (online-softmax) attention kernels of the CPU backend against the plain reference
/// kernels beside them (Sources/CTensor/attention.c): prefill and decode shapes, grouped-query
/// heads, several key tiles, left-padded rows, and a query that sees no key.
@Suite struct AttentionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var batch: Int, queries: Int, qHeads: Int, kvHeads: Int, headDim: Int, capacity: Int, qStart: Int
        var kvStart: [Int32]?
        var testDescription: String {
            "B\(batch) Tq\(queries) H\(qHeads)/\(kvHeads) hd\(headDim) cap\(capacity) q0 \(qStart) pad \(kvStart.map { "\($0)" } ?? "-")"
        }
    }

    static let forwardCases: [Case] = [
        Case(batch: 2, queries: 150, qHeads: 4, kvHeads: 2, headDim: 16, capacity: 150, qStart: 0, kvStart: nil),
        // Left padding: row 0 has 37 padding slots (queries 0..36 see no key), row 1 none, row 2 70.
        Case(batch: 3, queries: 140, qHeads: 4, kvHeads: 1, headDim: 8, capacity: 140, qStart: 0, kvStart: [37, 0, 70]),
        // Decode: 2 new queries after 200 cached slots, in a larger cache.
        Case(batch: 2, queries: 2, qHeads: 2, kvHeads: 2, headDim: 12, capacity: 260, qStart: 200, kvStart: [5, 131]),
        Case(batch: 1, queries: 1, qHeads: 8, kvHeads: 4, headDim: 128, capacity: 700, qStart: 699, kvStart: nil),
    ]

    static func random(_ n: Int, _ rng: inout TrainerRNG, scale: Double = 1) -> [Float] {
        (0..<n).map { _ in Float(rng.normal() * scale) }
    }

    static func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { $0.isInfinite && $1.isInfinite && $0 == $1 ? 0 : abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: forwardCases) func tiledForwardMatchesReference(_ c: Case) {
        var rng = TrainerRNG(seed: UInt64(c.queries * 31 + c.headDim))
        let q = Self.random(c.batch * c.queries * c.qHeads * c.headDim, &rng, scale: 2)
        let k = Self.random(c.batch * c.kvHeads * c.capacity * c.headDim, &rng, scale: 2)
        let v = Self.random(c.batch * c.kvHeads * c.capacity * c.headDim, &rng)
        let scale = 1 / Float(c.headDim).squareRoot()
        var out = [Float](repeating: .nan, count: q.count), ref = [Float](repeating: .nan, count: q.count)
        var lse = [Float](repeating: .nan, count: c.batch * c.qHeads * c.queries), refLse = lse
        withOptionalPointer(c.kvStart) { starts in
            ct_attention_fwd(q, k, v, &out, &lse, starts, c.batch, c.queries, c.qHeads, c.kvHeads, c.headDim, c.capacity, c.qStart, scale)
            ct_attention_ref_fwd(q, k, v, &ref, nil, &refLse, starts, c.batch, c.queries, c.qHeads, c.kvHeads, c.headDim,
                                 c.capacity, c.qStart, scale)
        }
        #expect(Self.maxAbs(out, ref) < 2e-5, "out")
        #expect(Self.maxAbs(lse, refLse) < 2e-5, "lse")
        // The masking happened: a padded row's first queries see nothing (zeros, lse −∞).
        if let pad = c.kvStart, c.qStart == 0, pad[0] > 0 {
            #expect(lse[0] == -.infinity && out[0..<(c.qHeads * c.headDim)].allSatisfy { $0 == 0 })
            #expect(lse[Int(pad[0])].isFinite)
        }
    }

    /// A prompt gives bit-identical attention alone and as a left-padded row of a batch (the
    /// tiles start at the row's first key), so batched greedy decoding equals one-at-a-time.
    @Test func paddedRowIsBitIdenticalToTheRowAlone() {
        var rng = TrainerRNG(seed: 9)
        let hq = 4, hkv = 2, hd = 16, len = 133, pad = 51, cap = len + pad
        let scale = 1 / Float(hd).squareRoot()
        let q = Self.random(len * hq * hd, &rng), k = Self.random(hkv * len * hd, &rng), v = Self.random(hkv * len * hd, &rng)
        var alone = [Float](repeating: 0, count: q.count)
        ct_attention_fwd(q, k, v, &alone, nil, nil, 1, len, hq, hkv, hd, len, 0, scale)
        // The same prompt as row 1 of a 2-row batch, after `pad` padding slots; row 0 is noise.
        var qb = Self.random(2 * cap * hq * hd, &rng), kb = Self.random(2 * hkv * cap * hd, &rng), vb = kb
        for t in 0..<len { for x in 0..<(hq * hd) { qb[((cap + pad + t) * hq) * hd + x] = q[(t * hq) * hd + x] } }
        for h in 0..<hkv { for t in 0..<len { for d in 0..<hd {
            kb[((1 * hkv + h) * cap + pad + t) * hd + d] = k[(h * len + t) * hd + d]
            vb[((1 * hkv + h) * cap + pad + t) * hd + d] = v[(h * len + t) * hd + d]
        } } }
        var out = [Float](repeating: 0, count: qb.count)
        let starts: [Int32] = [0, Int32(pad)]
        ct_attention_fwd(qb, kb, vb, &out, nil, starts, 2, cap, hq, hkv, hd, cap, 0, scale)
        let row1 = Array(out[((cap + pad) * hq * hd)..<(2 * cap * hq * hd)])
        #expect(row1 == alone)
    }

    @Test(arguments: [nil, [Int32]([0, 23])]) func tiledBackwardMatchesReference(kvStart: [Int32]?) {
        let b = 2, t = 150, hq = 4, hkv = 2, hd = 16
        var rng = TrainerRNG(seed: 17)
        let q = Self.random(b * t * hq * hd, &rng, scale: 2), k = Self.random(b * hkv * t * hd, &rng, scale: 2)
        let v = Self.random(b * hkv * t * hd, &rng), dout = Self.random(b * t * hq * hd, &rng)
        let scale = 1 / Float(hd).squareRoot()
        var out = [Float](repeating: 0, count: q.count), lse = [Float](repeating: 0, count: b * hq * t)
        var refOut = out, probs = [Float](repeating: 0, count: b * hq * t * t)
        withOptionalPointer(kvStart) { starts in
            ct_attention_fwd(q, k, v, &out, &lse, starts, b, t, hq, hkv, hd, t, 0, scale)
            ct_attention_ref_fwd(q, k, v, &refOut, &probs, nil, starts, b, t, hq, hkv, hd, t, 0, scale)
        }
        var dq = [Float](repeating: .nan, count: q.count), dk = [Float](repeating: .nan, count: k.count), dv = dk
        var rdq = dq, rdk = dk, rdv = dk
        withOptionalPointer(kvStart) { starts in
            ct_attention_bwd(q, k, v, out, lse, dout, &dq, &dk, &dv, starts, b, t, hq, hkv, hd, scale)
        }
        ct_attention_ref_bwd(q, k, v, probs, dout, &rdq, &rdk, &rdv, b, t, hq, hkv, hd, scale)
        #expect(Self.maxAbs(dq, rdq) < 5e-5, "dq")
        #expect(Self.maxAbs(dk, rdk) < 5e-5, "dk")
        #expect(Self.maxAbs(dv, rdv) < 5e-5, "dv")
        if let pad = kvStart?[1] {
            // Padding keys of row 1 get no gradient; the first real key does.
            let row1 = (1 * hkv + 0) * t * hd
            #expect(dk[row1..<(row1 + Int(pad) * hd)].allSatisfy { $0 == 0 })
            #expect(dk[(row1 + Int(pad) * hd)..<(row1 + Int(pad + 1) * hd)].contains { $0 != 0 })
        }
    }
}

/// `body` with a pointer to the elements, or nil (an optional C array argument).
private func withOptionalPointer<R>(_ values: [Int32]?, _ body: (UnsafePointer<Int32>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
