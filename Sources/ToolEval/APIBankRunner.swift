import PyJSON

/// Runs API-Bank scoring over predictions (`{"key": "Level1_0", "result": "<raw model text>"}`).
public enum APIBankRunner {
    /// Per-level accuracy and the micro-averaged overall, as the ToolRL authors compute them.
    /// Items without a prediction score 0 (`missing_prediction`).
    public static func run(items: [APIBankItem], predictions: [String: Prediction]) -> EvalRun {
        var results: [ItemResult] = []
        var levels: [GroupScore] = (1...3).map { GroupScore(name: "level-\($0)", correct: 0, total: 0) }
        for item in items {
            var r = ItemResult(id: item.key, group: "level-\(item.level)", valid: false, errorType: "", errors: [])
            let parsed: [PyValue]
            switch predictions[item.key] {
            case nil:
                r.errorType = "missing_prediction"; r.errors = ["No prediction for this key."]
                parsed = []
            case .raw(let text)?:
                r.raw = text
                parsed = APIBankScorer.parseToolCalls(text)
            case .decoded(let v)?:
                parsed = v.sequenceValue ?? [v]
            }
            r.decoded = .list(parsed)
            if r.errorType.isEmpty {
                r.valid = APIBankScorer.score(parsedCalls: parsed, answer: item.answer) == 1
                if !r.valid {
                    r.errorType = parsed.isEmpty ? "no_tool_call" : parsed.contains(where: { $0.pyType != .dict }) ? "non_dict_item" : "no_matching_call"
                    r.errors = ["Expected \(item.answer.pyRepr)."]
                }
            }
            let index = max(0, min(2, item.level - 1))
            levels[index].total += 1
            if r.valid { levels[index].correct += 1 }
            results.append(r)
        }
        return EvalRun(benchmark: "apibank", items: results, groups: levels.filter { $0.total > 0 })
    }

    /// Oracle predictions: each answer written as a ToolRL-format `<tool_call>` block.
    public static func oraclePredictions(items: [APIBankItem]) -> [String: Prediction] {
        var out: [String: Prediction] = [:]
        for item in items {
            out[item.key] = .raw("<tool_call>\n" + PyJSON.dumps(item.answer.json) + "\n</tool_call>")
        }
        return out
    }
}
