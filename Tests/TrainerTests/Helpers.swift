import Foundation
import TestSupport
import Trainer

/// This target's vendored fixtures (Fixtures/SOURCES.md).
let fixtures = TestFixtures(bundle: .module)

enum Fx {
    static func tempDir(_ tag: String) -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(tag)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Runs python3 with arguments; nil when python3 or numpy is unavailable.
    static func python(_ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe(); p.standardOutput = out; p.standardError = Pipe()
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static var hasNumpy: Bool { python(["-c", "import numpy"]) != nil }

    static func tinyConfig(tied: Bool = false) -> ModelConfig {
        ModelConfig(vocabSize: 23, hiddenSize: 12, intermediateSize: 20, numHiddenLayers: 2, numAttentionHeads: 4,
                    numKeyValueHeads: 2, headDim: 6, rmsNormEps: 1e-6, ropeTheta: 10_000, tieWordEmbeddings: tied,
                    maxPositionEmbeddings: 64)
    }

    /// A model whose every tensor (norms included) is random, so no weight is a no-op.
    static func randomModel(_ config: ModelConfig, seed: UInt64, std: Double = 0.3) throws -> Qwen3Model {
        let m = try Qwen3Model(config: config, backend: CPUBackend())
        var rng = TrainerRNG(seed: seed)
        for (spec, t) in zip(m.weights.specs, m.weights.tensors) {
            let vals = (0..<spec.count).map { _ in spec.shape.count == 1 ? Float(1 + 0.2 * rng.normal()) : Float(rng.normal() * std) }
            m.backend.upload(vals, to: t)
        }
        return m
    }
}
