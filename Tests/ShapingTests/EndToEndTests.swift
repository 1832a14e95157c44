import Foundation
import Regions
import Shaping
import TestSupport
import Testing
import Tokenization

/// The vectors from token ids, with the real Qwen3 tokenizer (decode with pad strings, re-encode).
@Suite("end to end from token ids (Qwen3 tokenizer)")
struct EndToEndTests {
    static func tokenizer() throws -> Tokenizer { try TestFixtures.qwenTokenizer() }

    @Test("released: every case, every step, decoded and re-encoded by rest-shaper's tokenizer", arguments: goldenCases.map(\.id))
    func released(id: String) throws {
        let tok = try Self.tokenizer()
        let c = try #require(goldenCases.first { $0.id == id })
        // The codec reproduces what the released code saw.
        let text = try c.tokenIDs.withUnsafeBufferPointer { try tok.releasedDecode($0) }
        #expect(text == c.decodedText)
        #expect(try tok.releasedOffsets(text) == c.retokenizedOffsets)
        let diff = WeightConformance.check(c, codec: tok)
        #expect(diff == nil, "\(id): \(diff ?? "")")
    }

    @Test("released: the misalignment demo from its non-canonical ids")
    func misalignment() throws {
        let demo = try #require(try WeightCase.load(jsonData: fixtures.data("misalignment_demo.json")).first)
        #expect(WeightConformance.check(demo, codec: try Self.tokenizer()) == nil)
    }

    /// Categories of a case's sampled tokens, from the tokenizer's exact bytes.
    static func categories(_ c: WeightCase) throws -> [TokenCategory] {
        try RegionParser().categorize(ids: c.tokenIDs, tokenizer: try tokenizer())
    }

    @Test("aligned: the differences documented in docs/PROFILES.md hold on the vectors")
    func documentedDifferences() throws {
        func cats(_ id: String) throws -> [TokenCategory] { try Self.categories(try #require(goldenCase(id))) }
        let v01 = try cats("v01")
        #expect(v01[30] == .toolName && v01[31] == .toolName && v01[21] == .thinkContent && v01[48] == .toolArgs && v01[36] == .toolArgs)
        let v24 = try cats("v24")
        #expect(v24[26] == .toolArgs && v24[27] == .toolJSON)
        let v02 = try cats("v02")
        #expect(v02[64] == .toolName && v02[65] == .toolName && v02[72..<91].allSatisfy { $0 == .toolArgs })
        let v10 = try cats("v10")
        #expect([11, 12, 13, 14, 42, 43, 44, 45].allSatisfy { v10[$0] == .toolCallTag })
        let v08 = try cats("v08")
        #expect(v08[0] == .thinkTag && v08[1...11].allSatisfy { $0 == .thinkContent } && v08[12] == .toolCallTag)
        let v09 = try cats("v09")
        #expect(v09[16] == .toolCallTag && v09[22...24].allSatisfy { $0 == .toolName } && v09[29...57].allSatisfy { $0 == .toolArgs })
        #expect(v09[58...].allSatisfy { $0 == .special })
        let v11 = try cats("v11")
        #expect(v11[16] == .responseTag && v11[17] == .responseTag && v11[18] == .responseContent)
        #expect(v11[26...28].allSatisfy { $0 == .responseTag } && v11[29] == .special)
        let demo = try #require(try WeightCase.load(jsonData: fixtures.data("misalignment_demo.json")).first)
        let dc = try Self.categories(demo)
        #expect(dc[23] == .thinkTag && dc[25] == .toolCallTag && dc[31] == .toolName && dc[22] == .thinkContent)
    }

    @Test("aligned on every case: weights positive exactly on weighted categories, mean 1")
    func alignedAll() throws {
        let p = try AlignedProfile()
        for c in goldenCases {
            let cats = try Self.categories(c)
            let (w, o) = p.weights(ids: c.tokenIDs, mask: c.lossMask, categories: cats.map(\.rawValue), step: ShapingStep(step: 100))
            #expect(o == .ok)
            let weighted: Set<TokenCategory> = [.thinkTag, .toolCallTag, .responseTag, .toolName, .toolArgs, .thinkContent]
            for i in 0..<w.count {
                #expect((w[i] > 0) == (c.lossMask[i] != 0 && weighted.contains(cats[i])), "\(c.id) token \(i)")
            }
            let pos = w.filter { $0 > 0 }
            if !pos.isEmpty { #expect(abs(pos.reduce(0.0) { $0 + Double($1) } / Double(pos.count) - 1) < 1e-5, "\(c.id)") }
        }
    }
}
