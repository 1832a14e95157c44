import CTensor
import Foundation
import Testing
import Trainer

/// The CPU backend's sampling kernel (bisection for the nucleus threshold) against the sort-based
/// reference beside it (Sources/CTensor/sampling.c), and the draw's statistics.
@Suite struct SamplingTests {
    static func rows(_ rows: Int, _ vocab: Int, seed: UInt64, spread: Double) -> [Float] {
        var rng = TrainerRNG(seed: seed)
        return (0..<rows * vocab).map { _ in Float(rng.normal() * spread) }
    }

    @Test(arguments: [(Float(1.0), Float(1.0)), (0.7, 0.9), (1.3, 0.5), (0.5, 0.05), (1.0, 0.999)])
    func bisectionAgreesWithTheSortedReference(temperature: Float, topP: Float) {
        let n = 64, vocab = 3001
        var logits = Self.rows(n, vocab, seed: 3, spread: 2.5)
        logits[5 * vocab + 17] = 40       // one dominant token
        for i in 0..<vocab { logits[9 * vocab + i] = 0 }   // a flat row: ties everywhere
        var rng = TrainerRNG(seed: 8)
        let u = (0..<n).map { _ in Float(rng.uniform()) }
        var ids = [Int32](repeating: -1, count: n), ref = ids
        var lp = [Float](repeating: 0, count: n), rlp = lp, ent = lp, rent = lp
        ct_sample_rows(logits, n, vocab, vocab, 1 / temperature, topP, u, &ids, &lp, &ent)
        ct_sample_rows_ref(logits, n, vocab, vocab, 1 / temperature, topP, u, &ref, &rlp, &rent)
        #expect(ids == ref)
        #expect(lp == rlp && ent == rent)
        #expect(ids[5] == 17)
        #expect(ids.allSatisfy { $0 >= 0 && Int($0) < vocab })
    }

    /// Only the first `candidates` ids are drawn; log-probabilities stay those of the full softmax.
    @Test func drawsStayBelowTheCandidateLimit() {
        let n = 32, vocab = 500, limit = 300
        var logits = Self.rows(n, vocab, seed: 4, spread: 1)
        for r in 0..<n { for i in limit..<vocab { logits[r * vocab + i] += 6 } }   // the excluded ids dominate
        var rng = TrainerRNG(seed: 2)
        let u = (0..<n).map { _ in Float(rng.uniform()) }
        var ids = [Int32](repeating: -1, count: n), ref = ids, lp = [Float](repeating: 0, count: n), rlp = lp
        ct_sample_rows(logits, n, vocab, limit, 1, 0.95, u, &ids, &lp, nil)
        ct_sample_rows_ref(logits, n, vocab, limit, 1, 0.95, u, &ref, &rlp, nil)
        #expect(ids == ref && lp == rlp)
        #expect(ids.allSatisfy { $0 >= 0 && $0 < limit })
        #expect(lp.allSatisfy { $0 < -5 })   // small under the full softmax
        var greedy = [Int32](repeating: -1, count: n)
        ct_sample_rows(logits, n, vocab, limit, 0, 1, nil, &greedy, nil, nil)
        #expect(greedy.allSatisfy { $0 < limit })
    }

    /// Greedy takes the first maximal logit and reports softmax(logits) quantities.
    @Test func greedyTakesTheFirstMaximum() {
        let be = CPUBackend(), t = be.makeTensor(count: 8)
        be.upload([0, 3, 1, 3, 0, 0, 0, 0], to: t)
        let s = be.sampleTokens(logits: t, rows: 2, vocab: 4, temperature: 0, topP: 1, uniforms: [])
        #expect(s.ids == [1, 0])
        let z: [Double] = [0, 3, 1, 3], lse = log(z.map { exp($0) }.reduce(0, +))
        #expect(abs(Double(s.logProbs[0]) - (3 - lse)) < 1e-6)
        #expect(abs(Double(s.entropies[1]) - log(4)) < 1e-6)   // a flat row of 4
    }

    /// Draw frequencies follow the nucleus-renormalised softmax (a χ²-style bound).
    @Test func drawFrequenciesFollowTheNucleus() {
        let be = CPUBackend(), vocab = 6
        let z: [Float] = [2, 1, 0.5, 0, -1, -3]
        let t = be.makeTensor(count: vocab)
        be.upload(z, to: t)
        let e = z.map { exp(Double($0)) }, total = e.reduce(0, +), p = e.map { $0 / total }
        // top-p 0.8: the sorted prefix reaching 0.8 is tokens 0, 1, 2 (0.58 + 0.21 + 0.13).
        let kept = 3, mass = p[0..<kept].reduce(0, +)
        var counts = [Int](repeating: 0, count: vocab)
        var rng = TrainerRNG(seed: 1)
        let draws = 20_000
        for _ in 0..<draws {
            counts[Int(be.sampleTokens(logits: t, rows: 1, vocab: vocab, temperature: 1, topP: 0.8, uniforms: [Float(rng.uniform())]).ids[0])] += 1
        }
        #expect(counts[kept...].allSatisfy { $0 == 0 })
        for i in 0..<kept {
            let expected = Double(draws) * p[i] / mass
            #expect(abs(Double(counts[i]) - expected) < 5 * expected.squareRoot(), "token \(i): \(counts[i]) vs \(expected)")
        }
    }
}
