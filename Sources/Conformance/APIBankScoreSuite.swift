import Foundation
import ToolEval

/// `apibank/score_refs.jsonl`-style records: raw output → `parsed_tool_calls` → `score` under the ToolRL
/// authors' API-Bank rules. The expected call comes from `level-N.jsonl` beside the file (by `key`).
public enum APIBankScoreSuite: ConformanceSuite {
    public static let kind = "apibank-score"

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard let r = firstRecord(firstRecordJSON) else { return false }
        return ["key", "raw_output", "parsed_tool_calls", "score"].allSatisfy { r.contains(.str($0)) }
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        // The API-Bank items: `level-N.jsonl` beside the file, else `$RESTSHAPER_APIBANK_DIR`.
        var directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory + "/level-1.jsonl"),
           let env = ProcessInfo.processInfo.environment["RESTSHAPER_APIBANK_DIR"] { directory = env }
        var answers: [String: PyValue] = [:]
        for item in try APIBankScorer.load(directory: directory) { answers[item.key] = item.answer }
        var report = ConformanceReport(context)
        for (line, r) in try readJSONLines(path) {
            let id = "\(r["key"]?.stringValue ?? "line \(line)") [\(r["kind"]?.stringValue ?? "")]"
            guard let key = r["key"]?.stringValue, let answer = answers[key] else { report.record(id, "no API-Bank item"); continue }
            let parsed = APIBankScorer.parseToolCalls(r["raw_output"]?.stringValue ?? "")
            let score = APIBankScorer.score(parsedCalls: parsed, answer: answer)
            if let want = r["parsed_tool_calls"], !PyValue.list(parsed).strictlyEquals(want) {
                report.record(id, "parsed \(PyValue.list(parsed).pyRepr), expected \(want.pyRepr)")
            } else if let want = r["score"], !want.pyEquals(.int(score)) {
                report.record(id, "score \(score), expected \(want.pyRepr)")
            } else {
                report.record(id, nil)
            }
        }
        return report
    }
}
