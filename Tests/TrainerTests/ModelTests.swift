import Foundation
import Testing
import Trainer

/// Forward parity with the numpy reference (Fixtures/qwen3_reference.py), the KV-cache path,
/// and checkpoint round trips.
@Suite struct ModelTests {
    @Test func forwardMatchesNumpyFixture() throws {
        let dir = try fixtures.url("tiny_qwen3")
        let model = try Qwen3Model.load(directory: dir, backend: CPUBackend())
        let ids = try JSONDecoder().decode([[Int32]].self, from: Data(contentsOf: dir.appendingPathComponent("ids.json")))
        struct Ref: Decodable { let logits: [[[Double]]] }
        let ref = try JSONDecoder().decode(Ref.self, from: Data(contentsOf: dir.appendingPathComponent("logits.json")))
        let t = ids[0].count
        let pass = try model.forward(ids: ids.flatMap { $0 }, batch: ids.count, time: t)
        let got = model.backend.download(pass.logits)
        var maxErr = 0.0
        for b in 0..<ids.count { for i in 0..<t { for v in 0..<model.config.vocabSize {
            maxErr = max(maxErr, abs(Double(got[(b * t + i) * model.config.vocabSize + v]) - ref.logits[b][i][v]))
        } } }
        #expect(maxErr < 1e-4, "max |swift − numpy| = \(maxErr)")
    }

    /// Writes a random Swift-made model, has numpy compute the logits live, compares (GQA,
    /// tied embeddings, another theta). Needs python3 + numpy (present in CI).
    @Test(.enabled(if: Fx.hasNumpy, "python3 with numpy is required for the live reference"))
    func forwardMatchesLiveNumpy() throws {
        var cfg = Fx.tinyConfig(tied: true)
        cfg.ropeTheta = 1_000_000
        let model = try Fx.randomModel(cfg, seed: 99)
        let dir = Fx.tempDir("parity")
        try model.save(directory: dir)
        var rng = TrainerRNG(seed: 5)
        let rows: [[Int32]] = (0..<3).map { _ in (0..<11).map { _ in Int32(rng.next() % UInt64(cfg.vocabSize)) } }
        try JSONEncoder().encode(rows).write(to: dir.appendingPathComponent("ids.json"))
        let script = try fixtures.path("qwen3_reference.py")
        let out = try #require(Fx.python([script, "logits", dir.path, dir.appendingPathComponent("ids.json").path]))
        struct Ref: Decodable { let logits: [[[Double]]] }
        let ref = try JSONDecoder().decode(Ref.self, from: Data(out.utf8))
        let pass = try model.forward(ids: rows.flatMap { $0 }, batch: 3, time: 11)
        let got = model.backend.download(pass.logits)
        var maxErr = 0.0
        for b in 0..<3 { for i in 0..<11 { for v in 0..<cfg.vocabSize {
            maxErr = max(maxErr, abs(Double(got[(b * 11 + i) * cfg.vocabSize + v]) - ref.logits[b][i][v]))
        } } }
        #expect(maxErr < 1e-4, "max |swift − numpy| = \(maxErr)")
    }

    @Test func kvCacheDecodeMatchesFullForward() throws {
        let cfg = Fx.tinyConfig()
        let model = try Fx.randomModel(cfg, seed: 3)
        let rows: [[Int32]] = [[1, 5, 7, 2, 9, 11, 3], [4, 4, 8, 15, 16, 22, 0]]
        let t = 7
        let full = model.backend.download(try model.forward(ids: rows.flatMap { $0 }, batch: 2, time: t).logits)
        let cache = KVCache(model: model, batch: 2, capacity: 16)
        // Prefill 4 tokens, then one at a time.
        var last = try model.decode(ids: rows.flatMap { Array($0[0..<4]) }, time: 4, cache: cache)
        func check(_ pos: Int) {
            var err: Float = 0
            for b in 0..<2 { for v in 0..<cfg.vocabSize {
                err = max(err, abs(last[b * cfg.vocabSize + v] - full[(b * t + pos) * cfg.vocabSize + v]))
            } }
            #expect(err < 1e-4, "position \(pos): max err \(err)")
        }
        check(3)
        for pos in 4..<t {
            last = try model.decode(ids: rows.map { $0[pos] }, time: 1, cache: cache)
            check(pos)
        }
    }

    /// Prompts of different lengths left-padded into one KV cache give each row's logits as the
    /// row alone would (padding masked, RoPE positions per row), at prefill and at later steps.
    @Test func paddedBatchDecodeMatchesEachRowAlone() throws {
        let cfg = Fx.tinyConfig()
        let model = try Fx.randomModel(cfg, seed: 5)
        let rows: [[Int32]] = [[1, 5, 7, 2, 9, 11, 3], [4, 8], [6, 6, 13, 2]]
        let next: [[Int32]] = [[3, 1], [7, 7], [2, 19]]
        let width = 7, v = cfg.vocabSize
        let cache = KVCache(model: model, batch: 3, capacity: 12, padding: rows.map { Int32(width - $0.count) })
        var batched = [try model.decode(ids: rows.flatMap { [Int32](repeating: 0, count: width - $0.count) + $0 }, time: width, cache: cache)]
        for s in 0..<2 { batched.append(try model.decode(ids: next.map { $0[s] }, time: 1, cache: cache)) }
        for (r, prompt) in rows.enumerated() {
            let alone = KVCache(model: model, batch: 1, capacity: 12)
            var want = [try model.decode(ids: prompt, time: prompt.count, cache: alone)]
            for s in 0..<2 { want.append(try model.decode(ids: [next[r][s]], time: 1, cache: alone)) }
            for s in 0..<3 {
                let got = Array(batched[s][(r * v)..<((r + 1) * v)])
                let err = zip(got, want[s]).map { abs($0 - $1) }.max()!
                #expect(err < 1e-5, "row \(r) step \(s): max err \(err)")
            }
        }
    }

    @Test func checkpointRoundTrip() throws {
        let model = try Fx.randomModel(Fx.tinyConfig(), seed: 11)
        let dir = Fx.tempDir("ckpt")
        try model.save(directory: dir)
        let back = try Qwen3Model.load(directory: dir, backend: CPUBackend())
        #expect(back.config == model.config)
        for (a, b) in zip(model.weights.tensors, back.weights.tensors) {
            #expect(model.backend.download(a) == back.backend.download(b))
        }
    }

    @Test func rejectsBadInput() throws {
        let model = try Fx.randomModel(Fx.tinyConfig(), seed: 1)
        #expect(throws: TrainerError.self) { try model.forward(ids: [1, 2, 99], batch: 1, time: 3) }
        #expect(throws: TrainerError.self) { try model.forward(ids: [1, 2], batch: 1, time: 3) }
        let dir = Fx.tempDir("bad")
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("model.safetensors"))
        #expect(throws: TrainerError.self) { try Safetensors.File(url: dir.appendingPathComponent("model.safetensors")) }
    }
}
