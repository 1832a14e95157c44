import Foundation
import Regions
import Shaping
import Testing

@Suite("schedules and configuration")
struct ConfigTests {
    @Test("released defaults: tags 1, name 1.2, think min(0.6+0.002s, 1), args min(0.6+0.002s, 1.2)")
    func defaults() {
        let c = ShapingConfig()
        for s in [0, 1, 100, 200, 250, 300, 1000] {
            let g = c.gammaTable(step: s)
            #expect(g[.thinkTag] == 1 && g[.toolCallTag] == 1 && g[.responseTag] == 1 && g[.toolName] == 1.2)
            #expect(g[.thinkContent] == Float(min(0.6 + 0.002 * Double(s), 1.0)))
            #expect(g[.toolArgs] == Float(min(0.6 + 0.002 * Double(s), 1.2)))
            #expect(g[.outside] == 0 && g[.toolJSON] == 0 && g[.responseContent] == 0 && g[.special] == 0)
        }
        #expect(c.clampMin == 0.001 && c.clampMax == 8 && c.normalization == .mean && c.eps == 1e-8)
    }

    @Test("schedule kinds: constant, linear with clamp, cosine, entropy")
    func kinds() {
        #expect(GammaSchedule.constant(2).value(step: 99) == 2)
        let lin = GammaSchedule.linear(start: 1, slope: -0.01, min: 0.2, max: 5)
        #expect(lin.value(step: 0) == 1 && abs(lin.value(step: 50) - 0.5) < 1e-12 && lin.value(step: 500) == 0.2)
        let cos = GammaSchedule.cosine(start: 0.6, end: 1.0, steps: 100)
        #expect(cos.value(step: 0) == 0.6 && abs(cos.value(step: 50) - 0.8) < 1e-12 && cos.value(step: 100) == 1.0 && cos.value(step: 900) == 1.0)
        let ent = GammaSchedule.entropy(start: 0.6, end: 1.0)
        #expect(ent.value(step: 5, entropyProgress: 0) == 0.6 && abs(ent.value(step: 5, entropyProgress: 0.5) - 0.8) < 1e-12)
        #expect(ent.value(step: 5, entropyProgress: 3) == 1.0)
    }

    @Test("JSON config: shorthand numbers, tags key, every field, round trip")
    func json() throws {
        let text = """
        {"profile": "released",
         "gammas": {"tags": 0.5, "tool_call_tag": 2, "think": {"kind": "cosine", "start": 0.2, "end": 1, "steps": 10},
                    "tool_args": {"kind": "entropy", "start": 0.6, "end": 1.2}, "response": {"kind": "constant", "value": 0.3},
                    "tool_name": null},
         "clamp": {"min": 0.01, "max": 4}, "normalization": "none", "eps": 1e-6,
         "entropy_schedule": {"full_drop": 0.25, "smoothing": 0.5, "monotone": false},
         "token_modulation": {"exponent": -0.5, "categories": ["think", "tool_args"]},
         "think_open_in_prompt": true}
        """
        let c = try ShapingConfig.fromJSON(text)
        #expect(c.profile == "released" && c.clampMin == 0.01 && c.clampMax == 4 && c.normalization == .none && c.eps == 1e-6)
        #expect(c.schedule(.thinkTag) == .constant(0.5) && c.schedule(.toolCallTag) == .constant(2))
        #expect(c.schedule(.toolName) == nil && c.schedule(.responseContent) == .constant(0.3))
        #expect(c.usesEntropySchedule && c.entropySchedule == EntropyCurriculumConfig(fullDrop: 0.25, smoothing: 0.5, monotone: false))
        #expect(c.tokenModulation?.exponent == -0.5 && c.tokenModulation?.min == 0.5 && c.regionOptions.thinkOpenInPrompt)
        let again = try ShapingConfig.fromJSON(try c.toJSON())
        #expect(again == c)
        #expect(try ShapingConfig.fromJSON("{}") == ShapingConfig())
    }

    @Test("config errors are typed")
    func errors() {
        #expect(throws: ShapingConfigError.unknownCategory("thoughts")) { try ShapingConfig.fromJSON(#"{"gammas": {"thoughts": 1}}"#) }
        #expect(throws: ShapingConfigError.unknownScheduleKind("step")) { try ShapingConfig.fromJSON(#"{"gammas": {"think": {"kind": "step"}}}"#) }
        #expect(throws: ShapingConfigError.unknownNormalization("sum")) { try ShapingConfig.fromJSON(#"{"normalization": "sum"}"#) }
        #expect(throws: ShapingConfigError.invalidClamp(min: 2, max: 1)) { try ShapingConfig.fromJSON(#"{"clamp": {"min": 2, "max": 1}}"#) }
        #expect(throws: ShapingConfigError.negativeGamma(category: "think", value: -1)) { try ShapingConfig.fromJSON(#"{"gammas": {"think": -1}}"#) }
        #expect(throws: ShapingConfigError.self) { try ShapingConfig.fromJSON("[1, 2") }
    }

    @Test("clamp range and normalisation change the weights as configured")
    func clampAndNormalisation() throws {
        let row = ProfileTests.v01, mask = ProfileTests.mask
        let cats = row.categories().map(\.rawValue)
        var cfg = ShapingConfig()
        cfg.normalization = .none
        cfg.clampMax = 1.0
        let (w, _) = try AlignedProfile(config: cfg).weights(ids: [Int32](repeating: 0, count: row.count), mask: mask,
                                                              categories: cats, step: ShapingStep(step: 0))
        #expect(w[0] == 1 && w[1] == 0.6 && w[13] == 1.0 && w[20] == 0.6)  // name 1.2 clamped to 1
        cfg.clampMin = 0.9
        let (w2, _) = try AlignedProfile(config: cfg).weights(ids: [Int32](repeating: 0, count: row.count), mask: mask,
                                                               categories: cats, step: ShapingStep(step: 0))
        #expect(w2[1] == 0.9 && w2[6] == 0)  // think raised to the floor; zero stays zero
    }

    @Test("PyTorch summation order: close to the double sum for many lengths, n < 8 sequential")
    func cascadeSum() {
        var rng = SystemRandomNumberGenerator()
        for n in [1, 3, 7, 8, 9, 31, 32, 33, 127, 128, 129, 511, 512, 513, 2047, 2048, 5000, 70000] {
            let x = (0..<n).map { _ in Float.random(in: 0.001...8, using: &rng) }
            let s = x.withUnsafeBufferPointer { TorchCascadeSum.sum($0) }
            let d = x.reduce(0.0) { $0 + Double($1) }
            #expect(abs(Double(s) - d) <= 4e-7 * d, "n = \(n)")
        }
        // n = 5: the tail element joins accumulator 0 before the others: ((x0 + x4) + x1) + x2 + x3 = 1,
        // where a left-to-right sum would give 2.
        let small: [Float] = [1e8, -1e8, 1, 0, 1]
        let got: Float = small.withUnsafeBufferPointer { TorchCascadeSum.sum($0) }
        #expect(got == 1)
    }
}
