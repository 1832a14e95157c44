import PyJSON
import Rewards
import ToolEval

/// `rlla/reward_refs_test.jsonl`-style records: outputs of the ToolRL repo's own `rlla.compute_score`
/// (all flags off) for a `solution_str` and `ground_truth`, checked with the `toolrl` reward variant.
public enum RllaRewardRefsSuite: ConformanceSuite {
    public static let kind = "rlla-reward-refs"

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard let r = firstRecord(firstRecordJSON) else { return false }
        return ["solution_str", "ground_truth", "score", "format_score", "correctness_score"].allSatisfy { r.contains(.str($0)) }
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        var report = ConformanceReport(context)
        for (line, row) in try readJSONLinesRaw(path) {
            let id = row["index"].map { "row \(PyJSON.dumps($0))" } ?? "line \(line)"
            let step = row["step"]?.intValue ?? 0
            report.record(id, RewardConformance.checkReferenceRow(row, variant: "toolrl", step: step))
        }
        return report
    }
}
