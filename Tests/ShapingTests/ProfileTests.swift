import Foundation
import Regions
import Shaping
import Testing

@Suite("aligned and uniform profiles, registry")
struct ProfileTests {
    /// v01's response as sampled tokens, with its mask (3 pads).
    static let v01 = TokenRow("<think>", "\n", "The", " user", ".\n", "</think>", "\n\n", "<tool_call>", "\n", "{\"", "name",
                              "\":", " \"", "get", "_weather", "\",", " \"", "parameters", "\":", " {\"", "city", "\":", " \"",
                              "Paris", "\"}}\n", "</tool_call>", "<|im_end|>", "<|endoftext|>", "<|endoftext|>", "<|endoftext|>")
    static var mask: [Float] { [Float](repeating: 1, count: v01.count - 3) + [0, 0, 0] }

    func aligned(_ row: TokenRow, mask: [Float], step: Int, config: ShapingConfig = ShapingConfig(), entropies: [Float]? = nil) throws -> [Float] {
        let cats = row.categories().map(\.rawValue)
        let p = try AlignedProfile(config: config)
        let (w, outcome) = p.weights(ids: [Int32](repeating: 0, count: row.count), mask: mask, categories: cats,
                                     entropies: entropies, step: ShapingStep(step: step))
        #expect(outcome == .ok)
        return w
    }

    @Test("aligned: γ per category, whole spans, normalised to mean 1 over positive valid tokens")
    func alignedWeights() throws {
        let w = try aligned(Self.v01, mask: Self.mask, step: 0)
        let cats = Self.v01.categories()
        // Raw γ at step 0: tags 1, think 0.6, name 1.2, args 0.6; mean over the positive ones.
        let raw: [Float] = cats.enumerated().map { i, c in
            guard Self.mask[i] != 0 else { return 0 }
            switch c {
            case .thinkTag, .toolCallTag, .responseTag: return 1
            case .thinkContent: return 0.6
            case .toolName: return 1.2
            case .toolArgs: return 0.6
            default: return 0
            }
        }
        let pos = raw.filter { $0 > 0 }
        let mean = pos.reduce(0, +) / Float(pos.count)
        for i in 0..<w.count { #expect(abs(w[i] - raw[i] / mean) <= 1e-6 * max(1, abs(w[i])), "token \(i)") }
        // Whole spans: both name tokens, the last think token, the closing `"}}\n` of the arguments.
        #expect(w[13] > 0 && w[14] > 0 && w[4] > 0 && w[24] > 0)
        // Zero: newline between tags, JSON keys, end-of-turn, padding.
        #expect(w[6] == 0 && w[10] == 0 && w[26] == 0 && w[27] == 0)
        let valid = w.enumerated().filter { $0.element > 0 }.map(\.element)
        #expect(abs(valid.reduce(0, +) / Float(valid.count) - 1) < 1e-6)
    }

    @Test("aligned: γ schedules move with the step; past 300 weights stop changing (released defaults)")
    func alignedSchedule() throws {
        let w0 = try aligned(Self.v01, mask: Self.mask, step: 0)
        let w300 = try aligned(Self.v01, mask: Self.mask, step: 300)
        let w1000 = try aligned(Self.v01, mask: Self.mask, step: 1000)
        #expect(w300 == w1000)
        // think/tag ratio: 0.6 at step 0, 1.0 at 300.
        #expect(abs(w0[1] / w0[0] - 0.6) < 1e-6 && abs(w300[1] / w300[0] - 1.0) < 1e-6)
        // args/name: 0.6/1.2 at step 0, 1.2/1.2 at 300.
        #expect(abs(w0[20] / w0[13] - 0.5) < 1e-6 && abs(w300[20] / w300[13] - 1.0) < 1e-6)
    }

    @Test("aligned needs categories; rows with no positive weight stay zero")
    func alignedEdges() throws {
        let p = try AlignedProfile()
        let (w, o) = p.weights(ids: [1, 2], mask: [1, 1], step: ShapingStep(step: 0))
        #expect(o == .fellBack(.missingCategories) && w == [1, 1])
        let plain = TokenRow("just", " text", "<|im_end|>")
        #expect(try aligned(plain, mask: [1, 1, 1], step: 0) == [0, 0, 0])
    }

    @Test("uniform: w = mask")
    func uniform() throws {
        let p = try ProfileRegistry.make("uniform")
        let (w, o) = p.weights(ids: [1, 2, 3], mask: [1, 0.5, 0], step: ShapingStep(step: 7))
        #expect(o == .ok && w == [1, 0.5, 0])
    }

    @Test("registry: built-ins by name, default aligned, unknown names rejected, new profiles register")
    func registry() throws {
        #expect(ProfileRegistry.defaultName == "aligned")
        #expect(Set(["released", "aligned", "uniform"]).isSubset(of: Set(ProfileRegistry.names)))
        #expect(try ProfileRegistry.make("released").name == "released")
        #expect(throws: ShapingConfigError.unknownProfile("nope")) { try ProfileRegistry.make("nope") }
        ProfileRegistry.register(HalfProfile.self)
        let (w, _) = try ProfileRegistry.make("half-test").weights(ids: [1], mask: [1], step: ShapingStep(step: 0))
        #expect(w == [0.5])
    }

    @Test("entropy modulation scales γ by (H_i / H̄)^κ within [min, max] before normalising")
    func modulation() throws {
        var cfg = ShapingConfig()
        cfg.tokenModulation = EntropyModulationConfig(exponent: 1, min: 0.5, max: 2, categories: ["think"])
        // think tokens 1…4 with entropies 1, 3, 0, 4 (row mean 2): factors 0.5, 1.5, clamp(0)=0.5, 2.
        var ent = [Float](repeating: 1, count: Self.v01.count)
        ent[1] = 1; ent[2] = 3; ent[3] = 0; ent[4] = 4
        let w = try aligned(Self.v01, mask: Self.mask, step: 0, config: cfg, entropies: ent)
        let base = try aligned(Self.v01, mask: Self.mask, step: 0)
        // Ratios between think tokens follow the factors; tags are untouched relative to each other.
        #expect(abs(w[2] / w[1] - 3) < 1e-5 && abs(w[4] / w[1] - 4) < 1e-5 && abs(w[3] / w[1] - 1) < 1e-5)
        #expect(abs(w[0] / w[5] - 1) < 1e-6 && w != base)
        // Without entropies the modulation is skipped.
        #expect(try aligned(Self.v01, mask: Self.mask, step: 0, config: cfg) == base)
    }
}

/// A profile defined outside the module: registered by name, weights = mask / 2.
struct HalfProfile: WeightProfile {
    static let name = "half-test"
    let config: ShapingConfig
    init(config: ShapingConfig) { self.config = config }
    func weights(row: RolloutRow, gammas: GammaTable, into w: UnsafeMutableBufferPointer<Float>) -> RowOutcome {
        for i in 0..<w.count { w[i] = row.mask[i] / 2 }
        return .ok
    }
}
