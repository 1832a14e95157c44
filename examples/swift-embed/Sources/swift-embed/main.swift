// Shapes one golden-vector case in-process and checks the weights against the golden ones.
//
//   swift-embed TOKENIZER VECTORS [CASE_ID]
//
// TOKENIZER: a tokenizer.json or qwen.tiktoken; VECTORS: a rest-vectors file (rest-shaper's
// Tests/TestSupport/Fixtures/rest_vectors_visible.json); CASE_ID: default v01_single_call.
// Prints one JSON line per recorded step, `{"step": S, "weights": [...]}`, then a verdict line;
// exits 1 when any step's weights differ from the golden ones (rest-shaper's pass rule: the same
// tokens are zero, every other weight within 1e-6 relative).
import Foundation
import RestShaperCore

/// The part of a rest-vectors case this example reads.
struct GoldenCase: Decodable {
    var id: String
    var token_ids: [Int32]
    var loss_mask: [Float]
    var ground_truth: String
    /// Step → golden weights (a step whose reference raised has an error object instead: skipped).
    var weights_by_step: [String: GoldenWeights]
}

enum GoldenWeights: Decodable {
    case weights([Double])
    case error
    init(from decoder: Decoder) throws {
        self = (try? decoder.singleValueContainer().decode([Double].self)).map { .weights($0) } ?? .error
    }
}

struct VectorsFile: Decodable { var cases: [GoldenCase] }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("swift-embed: \(message)\n".utf8))
    exit(1)
}

let args = CommandLine.arguments
guard args.count == 3 || args.count == 4 else { fail("usage: swift-embed TOKENIZER VECTORS [CASE_ID]") }
let caseID = args.count == 4 ? args[3] : "v01_single_call"

do {
    let vectors = try JSONDecoder().decode(VectorsFile.self, from: Data(contentsOf: URL(fileURLWithPath: args[2])))
    guard let golden = vectors.cases.first(where: { $0.id == caseID }) else { fail("no case \(caseID) in \(args[2])") }

    // The whole embedding: an engine from a tokenizer file, a batch of rows in, weights out.
    let engine = try ShapingEngine(tokenizerPath: args[1])
    var compared = 0
    for (stepKey, expected) in golden.weights_by_step.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
        guard case .weights(let want) = expected, let step = Int(stepKey) else { continue }
        let request = ShapeRequest(rows: [golden.token_ids], masks: [golden.loss_mask], groundTruths: [golden.ground_truth],
                                   step: step, options: ShapeOptions(profile: "released"))
        let result = try engine.shape(request)
        let weights = Array(result.weights(row: 0))
        let line = try JSONEncoder().encode(StepLine(step: step, weights: weights, status: result.rolloutStatus[0].code))
        print(String(decoding: line, as: UTF8.self))
        if let difference = WeightConformance.compare(weights, want.map { Float($0) }) {
            fail("\(golden.id) step \(step): weights differ from the golden ones: \(difference)")
        }
        compared += 1
    }
    guard compared > 0 else { fail("case \(caseID) has no golden weights") }
    print("\(golden.id): weights equal the golden weights at \(compared) steps")
} catch {
    fail("\(error)")
}

struct StepLine: Encodable { var step: Int; var weights: [Float]; var status: String }
