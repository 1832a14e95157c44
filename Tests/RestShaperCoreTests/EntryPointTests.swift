import Foundation
import RestShaperCore
import TestSupport
import Testing

/// The library product's entry point, as an embedding uses it (examples/swift-embed).
@Suite struct EntryPointTests {
    static func goldenCases() throws -> [WeightCase] { try WeightCase.load(jsonData: TestFixtures.goldenVectors()) }

    @Test("an engine from a tokenizer path shapes a padded batch of golden rows to the golden weights")
    func paddedBatchMatchesGolden() throws {
        let engine = try ShapingEngine(tokenizerPath: TestFixtures.qwenTiktokenPath, threads: 1)
        let withWeights = try Self.goldenCases().compactMap { c -> (WeightCase, [Float])? in
            guard case .weights(let w)? = c.expected.first(where: { $0.step == 0 })?.value else { return nil }
            return (c, w)
        }
        try #require(withWeights.count >= 2)
        let lengths = Set(withWeights.map { $0.0.tokenIDs.count })
        try #require(lengths.count > 1, "the batch must have rows of different lengths to exercise the padding")
        let request = try ShapeRequest(rows: withWeights.map(\.0.tokenIDs), masks: withWeights.map(\.0.lossMask),
                                       groundTruths: withWeights.map { _ in "" }, step: 0,
                                       options: ShapeOptions(profile: "released", computeRewards: false))
        #expect(request.length == lengths.max())
        let result = try engine.shape(request)
        #expect(result.batch == withWeights.count && result.length == request.length)
        for (row, (c, want)) in withWeights.enumerated() {
            let got = result.weights(row: row)
            #expect(WeightConformance.compare(got: Array(got.prefix(c.tokenIDs.count)), want: want.map(Double.init)) == nil, "\(c.id)")
            #expect(got.dropFirst(c.tokenIDs.count).allSatisfy { $0 == 0 }, "\(c.id): padding is never weighted")
            #expect(result.categories(row: row).count == request.length)
            #expect(result.rolloutStatus[row].isOK, "\(c.id)")
        }
    }

    @Test("rows, masks and ground truths that disagree are a typed shape error")
    func mismatchedRowsAreRejected() {
        #expect(throws: ShapeError.self) {
            try ShapeRequest(rows: [[1, 2, 3]], masks: [[1, 1]], groundTruths: [""], step: 0)
        }
        #expect(throws: ShapeError.self) {
            try ShapeRequest(rows: [[1, 2]], masks: [[1, 1]], groundTruths: [], step: 0)
        }
    }

    @Test("a missing tokenizer file is a thrown error, not a trap")
    func missingTokenizer() {
        #expect(throws: (any Error).self) { try ShapingEngine(tokenizerPath: "/nonexistent/qwen.tiktoken") }
    }

    @Test("the one weight comparator: zeros must match exactly, the rest within 1e-6 relative")
    func comparator() {
        #expect(WeightConformance.compare(got: [1, 0, 2], want: [1, 0, 2]) == nil)
        #expect(WeightConformance.compare(got: [1, 0, 2], want: [1, 0, 2.0000001]) == nil)
        #expect(WeightConformance.compare(got: [1, 0, 2], want: [1, 0, 2.001])?.contains("token 2") == true)
        #expect(WeightConformance.compare(got: [1, 0.001, 2], want: [1, 0, 2])?.contains("zero mismatch") == true)
        #expect(WeightConformance.compare(got: [1], want: [1, 1])?.contains("length") == true)
    }
}
