import Foundation
import Testing
import Trainer

/// Sharded checkpoints (index + shards) and BF16 tensors.
@Suite struct SafetensorsTests {
    @Test func loadsShardedCheckpoint() throws {
        let model = try Fx.randomModel(Fx.tinyConfig(), seed: 17)
        let dir = Fx.tempDir("shards")
        try model.config.huggingFaceJSON().write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let items = zip(model.weights.specs, model.weights.tensors).map { (name: $0.name, shape: $0.shape, values: model.backend.download($1)) }
        let half = items.count / 2
        try Safetensors.write(Array(items[..<half]), to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try Safetensors.write(Array(items[half...]), to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        var map: [String: String] = [:]
        for (i, it) in items.enumerated() { map[it.name] = i < half ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors" }
        struct Index: Encodable { var metadata: [String: String] = [:]; var weight_map: [String: String] }
        let index = try JSONEncoder().encode(Index(weight_map: map))
        try index.write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        let back = try Qwen3Model.load(directory: dir, backend: CPUBackend())
        for (a, b) in zip(model.weights.tensors, back.weights.tensors) { #expect(model.backend.download(a) == back.backend.download(b)) }
    }

    @Test func readsBF16() throws {
        // 1.0, -2.5, 0.15625 (exact in bf16) and 3.14159 (rounded to bf16 0x4049 = 3.140625).
        let bits: [UInt16] = [0x3F80, 0xC020, 0x3E20, 0x4049]
        let header = #"{"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}"#
        var d = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        for b in bits { d.append(UInt8(b & 0xFF)); d.append(UInt8(b >> 8)) }
        let url = Fx.tempDir("bf16").appendingPathComponent("x.safetensors")
        try d.write(to: url)
        let f = try Safetensors.File(url: url)
        #expect(try f.floats("w") == [1.0, -2.5, 0.15625, 3.140625])
        #expect(throws: TrainerError.self) { try f.floats("missing") }
    }
}
