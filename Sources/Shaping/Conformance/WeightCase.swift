import Foundation
import PyJSON

/// One golden weight case (from a `rest-vectors` file or the misalignment demo): the sampled row and,
/// per step, the released code's weights or the exception it raised.
public struct WeightCase: Sendable {
    /// What the reference produced at one step.
    public enum Expected: Sendable, Equatable {
        case weights([Float])
        /// The Python exception type name (e.g. `StopIteration`).
        case error(String)
    }

    /// The case id (`v01_single_call`, …).
    public var id: String
    /// The sampled row.
    public var tokenIDs: [Int32]
    /// Its loss mask.
    public var lossMask: [Float]
    /// `decoded_response_text`, when recorded.
    public var decodedText: String?
    /// `retokenized_offsets`, when recorded.
    public var retokenizedOffsets: CodePointOffsets?
    /// Step → expected result, in ascending step order.
    public var expected: [(step: Int, value: Expected)]

    /// A case from its parts (tests build variants of the golden ones).
    public init(id: String, tokenIDs: [Int32], lossMask: [Float], decodedText: String? = nil,
                retokenizedOffsets: CodePointOffsets? = nil, expected: [(step: Int, value: Expected)]) {
        self.id = id; self.tokenIDs = tokenIDs; self.lossMask = lossMask; self.decodedText = decodedText
        self.retokenizedOffsets = retokenizedOffsets; self.expected = expected
    }

    /// A codec replaying the recorded decode and re-tokenisation, when both are recorded.
    public var recordedCodec: RecordedTextCodec? {
        guard let t = decodedText, let o = retokenizedOffsets else { return nil }
        return RecordedTextCodec(text: t, offsets: o)
    }
}

/// Errors reading a vectors file.
public enum WeightVectorsError: Error, Sendable, Equatable, CustomStringConvertible {
    case notJSONObject
    case missingField(caseID: String, field: String)
    case badValue(caseID: String, field: String)

    public var description: String {
        switch self {
        case .notJSONObject: return "vectors file is not a JSON object"
        case .missingField(let c, let f): return "case \(c): missing '\(f)'"
        case .badValue(let c, let f): return "case \(c): bad value in '\(f)'"
        }
    }
}

extension WeightCase {
    /// Reads every weight case of a `rest-vectors` file (`cases[*].weights_by_step`; a step's value is
    /// a float list or `{"error": "<Type>"}`, a case-level `"error"` applies to every step) or of a
    /// misalignment-demo file (`token_ids`, `loss_mask`, `weights_step0`). Parsed with PyJSON, as
    /// Python's `json` wrote it (float64 weights, exact integers).
    public static func load(jsonData: Data) throws -> [WeightCase] {
        guard case .object(let root)? = try? PyJSON.loads([UInt8](jsonData)) else { throw WeightVectorsError.notJSONObject }
        if let cases = root["cases"]?.arrayValue {
            let steps = root["weight_steps"]?.arrayValue?.compactMap(\.intValue) ?? []
            return try cases.compactMap { c in
                guard let o = c.objectValue else { throw WeightVectorsError.badValue(caseID: "?", field: "cases") }
                return try parseCase(o, defaultSteps: steps)
            }
        }
        if root["token_ids"] != nil, let w = root["weights_step0"] {
            var c = root
            if c["id"] == nil { c["id"] = .string("misalignment_demo") }
            c["weights_by_step"] = .object(JSONObject([("0", w)]))
            return try [parseCase(c, defaultSteps: [0])].compactMap { $0 }
        }
        return []
    }

    private static func parseCase(_ c: JSONObject, defaultSteps: [Int]) throws -> WeightCase? {
        let id = c["id"]?.stringValue ?? "?"
        guard c["weights_by_step"] != nil || c["error"] != nil else { return nil }  // e.g. a reward-only case
        guard let ids = c["token_ids"]?.arrayValue else { throw WeightVectorsError.missingField(caseID: id, field: "token_ids") }
        guard let mask = c["loss_mask"]?.arrayValue else { throw WeightVectorsError.missingField(caseID: id, field: "loss_mask") }
        let tokenIDs = try ids.map { v -> Int32 in
            guard let n = v.intValue.flatMap({ Int32(exactly: $0) }) else { throw WeightVectorsError.badValue(caseID: id, field: "token_ids") }
            return n
        }
        let lossMask = try mask.map { v -> Float in
            guard let n = v.doubleValue else { throw WeightVectorsError.badValue(caseID: id, field: "loss_mask") }
            return Float(n)
        }
        var offsets: CodePointOffsets?
        if let o = c["retokenized_offsets"]?.arrayValue {
            offsets = CodePointOffsets(pairs: o.map { ($0[0]?.intValue ?? 0, $0.arrayValue?.last?.intValue ?? 0) })
        }
        var expected: [(Int, Expected)] = []
        if case .object(let byStep)? = c["weights_by_step"], let e = byStep["error"]?.stringValue {
            expected = defaultSteps.map { ($0, .error(e)) }  // one error for every step
        } else if case .object(let byStep)? = c["weights_by_step"] {
            for (k, v) in byStep.pairs {
                guard let step = Int(k) else { throw WeightVectorsError.badValue(caseID: id, field: "weights_by_step") }
                if let list = v.arrayValue {
                    expected.append((step, .weights(try list.map { x -> Float in
                        guard let n = x.doubleValue else { throw WeightVectorsError.badValue(caseID: id, field: "weights_by_step") }
                        return Float(n)
                    })))
                } else if let e = v["error"]?.stringValue {
                    expected.append((step, .error(e)))
                } else {
                    throw WeightVectorsError.badValue(caseID: id, field: "weights_by_step")
                }
            }
        } else if let e = c["error"]?.stringValue ?? c["error"]?["type"]?.stringValue {
            expected = defaultSteps.map { ($0, .error(e)) }
        }
        expected.sort { $0.0 < $1.0 }
        return WeightCase(id: id, tokenIDs: tokenIDs, lossMask: lossMask, decodedText: c["decoded_response_text"]?.stringValue,
                          retokenizedOffsets: offsets, expected: expected.map { (step: $0.0, value: $0.1) })
    }
}
