import Foundation
import Regions
import Shaping
import Testing

@Suite("released profile against the golden vectors")
struct ReleasedVectorTests {
    @Test("the visible vectors load: 26 cases × 5 steps")
    func loads() throws {
        #expect(goldenCases.count == 26)
        for c in goldenCases {
            #expect(c.expected.map(\.step) == [0, 100, 200, 300, 1000], "\(c.id)")
            #expect(c.recordedCodec != nil, "\(c.id)")
        }
    }

    @Test("every case, every step: same zeros, weights within 1e-6 relative (recorded re-tokenisation)",
          arguments: goldenCases.map(\.id))
    func goldenCase(id: String) throws {
        let c = try #require(goldenCases.first { $0.id == id })
        let codec = try #require(c.recordedCodec)
        let diff = WeightConformance.check(c, codec: codec)
        #expect(diff == nil, "\(id): \(diff ?? "")")
    }

    @Test("row means follow PyTorch's summation order: bit-exact on every case and step")
    func bitExact() throws {
        let profile = try ReleasedProfile()
        var inexact: [String] = []
        for c in goldenCases {
            for (step, want) in c.expected {
                guard case .weights(let exp) = want else { continue }
                let (w, _) = profile.weights(ids: c.tokenIDs, mask: c.lossMask, codec: c.recordedCodec, step: ShapingStep(step: step))
                if w != exp { inexact.append("\(c.id)@\(step)") }
            }
        }
        #expect(inexact.isEmpty, "not bit-exact: \(inexact)")
    }

    @Test("the misalignment demo: weights follow the canonical re-tokenisation, shifted from index 10")
    func misalignment() throws {
        let demo = try #require(try WeightCase.load(jsonData: fixtures.data("misalignment_demo.json")).first)
        let v01 = try #require(goldenCases.first { $0.id.hasPrefix("v01") })
        // The demo decodes to the same text as v01, whose re-tokenisation offsets are recorded.
        #expect(demo.decodedText == v01.decodedText)
        let codec = RecordedTextCodec(text: try #require(demo.decodedText), offsets: try #require(v01.retokenizedOffsets))
        #expect(WeightConformance.check(demo, codec: codec) == nil)
        // And the shift is real: the demo's weights are v01's step-0 weights, one position late from index 10.
        guard case .weights(let w) = demo.expected[0].value, case .weights(let w1) = v01.expected[0].value else {
            Issue.record("missing weights"); return
        }
        #expect(Array(w[0..<10]) == Array(w1[0..<10]))
        #expect(w.count == w1.count + 1)
    }

    @Test("W1/W2/W3 spot checks on v01 and v02")
    func quirks() throws {
        let v01 = try #require(goldenCases.first { $0.id.hasPrefix("v01") })
        let (w, _) = try ReleasedProfile().weights(ids: v01.tokenIDs, mask: v01.lossMask, codec: v01.recordedCodec, step: ShapingStep(step: 0))
        // get_weather → `get` (30) weighted, `_weather` (31) dropped; last think token (21) dropped.
        #expect(w[30] > 0 && w[31] == 0 && w[21] == 0 && w[20] > 0)
        let v02 = try #require(goldenCases.first { $0.id.hasPrefix("v02") })
        let (w2, _) = try ReleasedProfile().weights(ids: v02.tokenIDs, mask: v02.lossMask, codec: v02.recordedCodec, step: ShapingStep(step: 0))
        // second call of the block (send_sms, tokens 64…) gets nothing.
        #expect(w2[64..<92].allSatisfy { $0 == 0 })
    }

    @Test("raising inputs fall back to the mask with the Python exception type")
    func errors() throws {
        let v01 = try #require(goldenCases.first { $0.id.hasPrefix("v01") })
        let text = try #require(v01.decodedText), offs = try #require(v01.retokenizedOffsets)
        let profile = try ReleasedProfile()
        // Sampled row shorter than the re-tokenisation: the arguments span [37, 48) crosses T = 40.
        let ids = Array(v01.tokenIDs[0..<40]), mask = Array(v01.lossMask[0..<40])
        let (w, outcome) = profile.weights(ids: ids, mask: mask, codec: RecordedTextCodec(text: text, offsets: offs), step: ShapingStep(step: 0))
        #expect(outcome.error?.pythonExceptionName == "RuntimeError")
        #expect(w == mask)
        // A re-tokenisation that stops early: no token starts at or after `</think>`.
        let short = CodePointOffsets(starts: Array(offs.starts[0..<10]), ends: Array(offs.ends[0..<10]))
        let (w2, o2) = profile.weights(ids: v01.tokenIDs, mask: v01.lossMask, codec: RecordedTextCodec(text: text, offsets: short), step: ShapingStep(step: 0))
        #expect(o2.error?.pythonExceptionName == "StopIteration")
        #expect(w2 == v01.lossMask)
        // No tokenizer at all.
        let (_, o3) = profile.weights(ids: v01.tokenIDs, mask: v01.lossMask, step: ShapingStep(step: 0))
        #expect(o3 == .fellBack(.missingTokenizer))
    }

    @Test("the conformance checker reports recorded errors and real differences")
    func checker() throws {
        let v01 = try #require(goldenCases.first { $0.id.hasPrefix("v01") })
        let codec = try #require(v01.recordedCodec)
        // A recorded RuntimeError is reproduced by a row that raises it.
        let raising = WeightCase(id: "raises", tokenIDs: Array(v01.tokenIDs[0..<40]), lossMask: Array(v01.lossMask[0..<40]),
                                 expected: [(step: 0, value: .error("RuntimeError"))])
        #expect(WeightConformance.check(raising, codec: codec) == nil)
        let wrongType = WeightCase(id: "w", tokenIDs: raising.tokenIDs, lossMask: raising.lossMask,
                                   expected: [(step: 0, value: .error("StopIteration"))])
        #expect(WeightConformance.check(wrongType, codec: codec) != nil)
        // A perturbed weight beyond 1e-6 relative, and a zero mismatch, are caught.
        guard case .weights(var w) = v01.expected[0].value else { Issue.record("no weights"); return }
        w[5] *= 1 + 3e-6
        var bad = v01; bad.expected = [(step: 0, value: .weights(w))]
        #expect(WeightConformance.check(bad, codec: codec)?.contains("token 5") == true)
        guard case .weights(var z) = v01.expected[0].value else { return }
        z[31] = 1
        bad.expected = [(step: 0, value: .weights(z))]
        #expect(WeightConformance.check(bad, codec: codec)?.contains("zero mismatch") == true)
    }
}

@Suite("vectors file shapes")
struct VectorFileTests {
    @Test("recorded errors: per step, per case, or for the whole weights_by_step")
    func errorShapes() throws {
        let json = """
        {"kind": "rest-vectors", "weight_steps": [0, 100], "cases": [
          {"id": "a", "token_ids": [1, 2], "loss_mask": [1, 1], "weights_by_step": {"0": {"error": "StopIteration"}, "100": [0.5, 1.5]}},
          {"id": "b", "token_ids": [1], "loss_mask": [1], "error": "RuntimeError"},
          {"id": "c", "token_ids": [1], "loss_mask": [1], "weights_by_step": {"error": "RuntimeError"}},
          {"id": "reward-only", "token_ids": [1], "loss_mask": [1]}
        ]}
        """
        let cases = try WeightCase.load(jsonData: Data(json.utf8))
        #expect(cases.map(\.id) == ["a", "b", "c"])
        #expect(cases[0].expected.map(\.step) == [0, 100] && cases[0].expected[0].value == .error("StopIteration"))
        #expect(cases[0].expected[1].value == .weights([0.5, 1.5]))
        #expect(cases[1].expected.map(\.value) == [.error("RuntimeError"), .error("RuntimeError")])
        #expect(cases[2].expected.count == 2)
        #expect(throws: WeightVectorsError.self) {
            try WeightCase.load(jsonData: Data(#"{"cases": [{"id": "x", "token_ids": [1], "loss_mask": ["a"], "weights_by_step": {}}]}"#.utf8))
        }
    }
}
