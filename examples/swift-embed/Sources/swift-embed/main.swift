// Shapes golden-vector cases in-process through rest-shaper's library product and checks the
// weights against the golden ones.
//
//   swift-embed TOKENIZER VECTORS [CASE_ID...]
//
// TOKENIZER: a tokenizer.json or qwen.tiktoken; VECTORS: a rest-vectors file (rest-shaper's
// Tests/TestSupport/Fixtures/rest_vectors_visible.json); CASE_IDs: the cases to shape (default:
// every case). At each recorded step the chosen cases go to the engine as one batch of rows of
// different lengths. Prints one JSON line per case and step, `{"case": ID, "step": S, "status":
// CODE, "weights": [...]}`, then a verdict line; exits 1 when any weight differs from the golden
// ones by rest-shaper's pass rule (the same tokens are zero, every other weight within 1e-6
// relative) or a step the reference recorded as an error comes back ok.
import Foundation
import RestShaperCore

/// The part of a rest-vectors case this example reads.
struct GoldenCase: Decodable {
    var id: String
    var token_ids: [Int32]
    var loss_mask: [Float]
    var ground_truth: String
    /// Step → golden weights, or an error object where the reference raised.
    var weights_by_step: [String: Golden]
}

/// One step of a case: the weights, or the reference's error.
enum Golden: Decodable {
    case weights([Double])
    case error
    init(from decoder: Decoder) throws {
        self = (try? decoder.singleValueContainer().decode([Double].self)).map { .weights($0) } ?? .error
    }
}

struct VectorsFile: Decodable { var cases: [GoldenCase] }

struct StepLine: Encodable { var `case`: String; var step: Int; var status: String; var weights: [Float] }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("swift-embed: \(message)\n".utf8))
    exit(1)
}

let args = CommandLine.arguments
guard args.count >= 3 else { fail("usage: swift-embed TOKENIZER VECTORS [CASE_ID...]") }

do {
    let file = try JSONDecoder().decode(VectorsFile.self, from: Data(contentsOf: URL(fileURLWithPath: args[2])))
    let wanted = Set(args.dropFirst(3))
    let cases = wanted.isEmpty ? file.cases : file.cases.filter { wanted.contains($0.id) }
    guard !cases.isEmpty, wanted.isSubset(of: cases.map(\.id)) else {
        fail("cases \(wanted.subtracting(cases.map(\.id)).sorted()) are not in \(args[2])")
    }

    // The whole embedding: an engine from a tokenizer file, a batch of rows in, weights out.
    let engine = try ShapingEngine(tokenizerPath: args[1])
    let steps = Set(cases.flatMap { $0.weights_by_step.keys.compactMap { Int($0) } }).sorted()
    var compared = 0, errors = 0
    for step in steps {
        let batch = cases.filter { $0.weights_by_step[String(step)] != nil }
        let request = try ShapeRequest(rows: batch.map(\.token_ids), masks: batch.map(\.loss_mask),
                                       groundTruths: batch.map(\.ground_truth), step: step,
                                       options: ShapeOptions(profile: "released"))
        let result = try engine.shape(request)
        for (row, golden) in batch.enumerated() {
            let weights = Array(result.weights(row: row).prefix(golden.token_ids.count))
            let status = result.rolloutStatus[row]
            let line = try JSONEncoder().encode(StepLine(case: golden.id, step: step, status: status.code, weights: weights))
            print(String(decoding: line, as: UTF8.self))
            switch golden.weights_by_step[String(step)] {
            case .weights(let want)?:
                guard status.isOK else { fail("\(golden.id) step \(step): \(status.code): \(status.message)") }
                if let difference = WeightConformance.compare(got: weights, want: want) {
                    fail("\(golden.id) step \(step): weights differ from the golden ones: \(difference)")
                }
                compared += 1
            case .error?:
                guard !status.isOK else { fail("\(golden.id) step \(step): the reference raised, the engine gave weights") }
                errors += 1
            case nil:
                break
            }
        }
    }
    guard compared > 0 else { fail("no golden weights among the chosen cases") }
    print("swift-embed: \(cases.count) cases, \(compared) case-steps equal the golden weights, \(errors) recorded errors reproduced")
} catch {
    fail("\(error)")
}
