import Foundation
import PyJSON
import ToolEval

/// `bfcl_checker_visible.jsonl`-style records: a decoded prediction with the official AST checker's
/// verdict (`valid`, `error_type`). The BFCL questions and answers are read from the `bfcl/` folder
/// next to the file (or `$RESTSHAPER_BFCL_DIR`).
public enum BFCLCheckerSuite: ConformanceSuite {
    public static let kind = "bfcl-checker"

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard let r = firstRecord(firstRecordJSON) else { return false }
        return ["id", "category", "prediction", "valid", "error_type", "model_name"].allSatisfy { r.contains(.str($0)) }
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        let records = try readJSONLines(path)
        let ids = records.compactMap { $0.1["id"]?.stringValue }
        let dataset = try BFCLDataset.load(directory: bfclDirectory(near: path), forIDs: ids)
        var report = ConformanceReport(context)
        let plain = BFCLEvaluator(underscoreToDot: false), underscore = BFCLEvaluator(underscoreToDot: true)
        for (line, r) in records {
            let id = r["id"]?.stringValue ?? "line \(line)"
            guard var entry = dataset.entries[id] else { report.record(id, "no BFCL entry"); continue }
            if let c = r["category"]?.stringValue { entry.category = c }
            let model = r["model_name"]?.stringValue ?? ""
            let evaluator = model.contains("underscore") ? underscore : plain
            let verdict = evaluator.evaluate(entry: entry, decoded: r["prediction"])
            let wantValid = r["valid"].map { $0.pyEquals(.bool(true)) } ?? false
            let wantType = r["error_type"]?.stringValue ?? ""
            if verdict.valid != wantValid || verdict.errorType != wantType {
                report.record(id, "[\(r["kind"]?.stringValue ?? "")] expected valid=\(wantValid) \(wantType), got valid=\(verdict.valid) \(verdict.errorType) \(verdict.errors.first ?? "")")
            } else {
                report.record(id, nil)
            }
        }
        return report
    }

    /// The BFCL data folder: `bfcl/` beside the reference file or beside its folder, else
    /// `$RESTSHAPER_BFCL_DIR`, else `./data/bfcl`.
    static func bfclDirectory(near path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        var candidates = [folder + "/bfcl", (folder as NSString).deletingLastPathComponent + "/bfcl"]
        if let env = ProcessInfo.processInfo.environment["RESTSHAPER_BFCL_DIR"] { candidates.append(env) }
        candidates.append("data/bfcl")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/possible_answer") } ?? candidates[0]
    }
}

/// The first record of a reference file as a Python dict, or nil if it is not a JSON object.
func firstRecord(_ json: String) -> PyDict? {
    guard let v = try? PyJSON.loads(json), case .dict(let d) = PyValue(json: v) else { return nil }
    return d
}
