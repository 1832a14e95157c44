import PyJSON

/// A model's answer to one item: raw text (decoded by the run's output format) or already-decoded calls.
public enum Prediction: Sendable {
    case raw(String)
    case decoded(PyValue)

    /// From a predictions-file record's `result`: a string is raw text, anything else decoded calls
    /// (`[{func: {param: value}}]`, tuples as `{"__tuple__": [...]}`).
    public init(result: PyValue) {
        if case .str(let s) = result { self = .raw(s) } else { self = .decoded(result) }
    }
}

/// The verdict on one item, with what was decoded.
public struct ItemResult: Sendable {
    public var id: String
    public var group: String
    public var valid: Bool
    public var errorType: String
    public var errors: [String]
    public var decoded: PyValue?
    public var raw: String?
}

/// Correct / total for one category or level.
public struct GroupScore: Sendable {
    public var name: String
    public var correct: Int
    public var total: Int
    /// Percentage, rounded to 2 decimals as the reference scripts print it.
    public var accuracy: Double { APIBankScorer.percent(correct, total) }
}

/// A scored run: per-item results and per-group scores (groups in display order), plus a
/// micro-averaged overall line.
public struct EvalRun: Sendable {
    public var benchmark: String
    public var items: [ItemResult]
    public var groups: [GroupScore]
    public var overall: GroupScore {
        GroupScore(name: "overall", correct: groups.reduce(0) { $0 + $1.correct }, total: groups.reduce(0) { $0 + $1.total })
    }
}

/// Runs BFCL AST evaluation over predictions.
public enum BFCLRunner {
    /// Scores every entry of `categories` (in the data set's order); an entry without a prediction
    /// counts as wrong with error type `missing_prediction`.
    public static func run(dataset: BFCLDataset, predictions: [String: Prediction], categories: [String],
                           format: BFCLOutputFormat = .prompt, underscoreToDot: Bool = false) -> EvalRun {
        let evaluator = BFCLEvaluator(underscoreToDot: underscoreToDot)
        var items: [ItemResult] = []
        var groups: [GroupScore] = []
        for category in categories {
            var score = GroupScore(name: category, correct: 0, total: 0)
            let language = BFCLLanguage(category: category)
            for id in dataset.order[category] ?? [] {
                guard let entry = dataset.entries[id] else { continue }
                score.total += 1
                var result = ItemResult(id: id, group: category, valid: false, errorType: "", errors: [])
                switch predictions[id] {
                case nil:
                    result.errorType = "missing_prediction"
                    result.errors = ["No prediction for this id."]
                case .decoded(let calls)?:
                    result.decoded = calls
                    let v = evaluator.evaluate(entry: entry, decoded: calls)
                    (result.valid, result.errorType, result.errors) = (v.valid, v.errorType, v.errors)
                case .raw(let text)?:
                    result.raw = text
                    // Relevance categories are always decoded as Python (as upstream's relevance runner).
                    let lang = BFCLCategory.isRelevance(category) ? .python : language
                    var decoded: PyValue? = nil
                    var decodeError: String? = nil
                    do { decoded = try format.decode(text, language: lang) } catch { decodeError = error.description }
                    result.decoded = decoded
                    let v = evaluator.evaluate(entry: entry, decoded: decoded, decodeError: decodeError)
                    (result.valid, result.errorType, result.errors) = (v.valid, v.errorType, v.errors)
                }
                if result.valid { score.correct += 1 }
                items.append(result)
            }
            groups.append(score)
        }
        return EvalRun(benchmark: "bfcl", items: items, groups: groups)
    }

    /// Reads a predictions file: JSON lines `{"id": …, "result": <raw text or decoded calls>}`.
    public static func readPredictions(_ path: String, idKeys: [String] = ["id"]) throws(ToolEvalError) -> [String: Prediction] {
        var out: [String: Prediction] = [:]
        for (line, r) in try readJSONLines(path) {
            guard let id = idKeys.lazy.compactMap({ r[$0]?.stringValue }).first else {
                throw .badRecord(path: path, line: line, message: "no \(idKeys.joined(separator: "/")) field")
            }
            guard let result = r["result"] ?? r["raw_output"] else {
                throw .badRecord(path: path, line: line, message: "no result field")
            }
            out[id] = Prediction(result: result)
        }
        return out
    }
}
