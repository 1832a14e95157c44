import PyJSON
import ToolEval

/// `bfcl_decode_refs.jsonl`-style records: raw prompt-style model text and what BFCL's decoder made of
/// it (`ok` + `decoded` + format flags, or the exception class). Values are compared type-exactly
/// (`5` is not `5.0`); for failures the Python exception class must match.
public enum BFCLDecodeSuite: ConformanceSuite {
    public static let kind = "bfcl-decode"

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard let r = firstRecord(firstRecordJSON) else { return false }
        return ["raw", "ok", "language"].allSatisfy { r.contains(.str($0)) } && !r.contains(.str("prediction"))
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        var report = ConformanceReport(context)
        for (line, r) in try readJSONLines(path) {
            let id = "line \(line) [\(r["kind"]?.stringValue ?? "")]"
            guard let raw = r["raw"]?.stringValue else { report.record(id, "no raw text"); continue }
            let language = BFCLLanguage(rawValue: r["language"]?.stringValue ?? "python") ?? .python
            let wantOK = r["ok"].map { $0.pyEquals(.bool(true)) } ?? false
            do {
                let decoded = try PromptDecoder.decode(raw, language: language)
                guard wantOK else {
                    report.record(id, "expected \(r["exception"]?.stringValue ?? "an exception"), decoded \(decoded.pyRepr)")
                    continue
                }
                let want = r["decoded"] ?? .none
                if !decoded.jsonRoundTripped.strictlyEquals(want) {
                    report.record(id, "decoded \(decoded.pyRepr), expected \(want.pyRepr)")
                } else if let fc = r["is_function_calling_format_output"], !fc.pyEquals(.bool(BFCLEvaluator.isFunctionCallingFormat(decoded))) {
                    report.record(id, "is_function_calling_format_output differs")
                } else if let empty = r["is_empty_output"], !empty.pyEquals(.bool(BFCLEvaluator.isEmptyOutput(decoded))) {
                    report.record(id, "is_empty_output differs")
                } else {
                    report.record(id, nil)
                }
            } catch {
                if wantOK {
                    report.record(id, "expected success, got \(error)")
                } else if let want = r["exception"]?.stringValue, want != error.exception {
                    report.record(id, "expected \(want), got \(error)")
                } else {
                    report.record(id, nil)
                }
            }
        }
        return report
    }
}
