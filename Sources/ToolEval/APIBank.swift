import Foundation
import PyJSON

/// One API-Bank item as processed by the ToolRL authors (`benchmarks/API-Bank/level-*-api_processed.json`).
public struct APIBankItem: Sendable {
    public var key: String
    public var level: Int
    public var system: String
    public var user: String
    /// The expected call `{name, parameters}` (`answer[0]` when the file holds a list).
    public var answer: PyValue
}

/// The API-Bank scoring rules of ToolRL's `benchmarks/API-Bank/generate.py` + `evaluate.py`:
/// take the last `<tool_call>` block (the whole output if there is none), `json.loads` every non-empty
/// line (lines that fail are dropped), and count the item correct if one parsed call has exactly the
/// answer's name and exactly its `parameters` dict (Python `==`: `"4"` is not `4`). A parsed item
/// without both `name` and `parameters` is taken as a bare parameters dict for the answer's name;
/// a parsed item that is not a dict (e.g. a line `123`) makes the whole item score 0.
public enum APIBankScorer {
    /// `parsed_tool_calls`: the JSON values parsed from the last `<tool_call>` block, one per line.
    public static func parseToolCalls(_ output: String) -> [PyValue] {
        var text = output
        if let open = output.range(of: "<tool_call>", options: .backwards) {
            text = String(output[open.upperBound...])
            if let close = text.range(of: "</tool_call>") { text = String(text[..<close.lowerBound]) }
        }
        var calls: [PyValue] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let trimmed = pyStrip(String(line))
            guard !trimmed.isEmpty, let v = try? PyJSON.loads(trimmed) else { continue }
            calls.append(PyValue(json: v))
        }
        return calls
    }

    /// 1 if one of the parsed calls matches the answer, else 0.
    public static func score(parsedCalls: [PyValue], answer rawAnswer: PyValue) -> Int {
        var answer = rawAnswer
        if case .list(let items) = rawAnswer, let first = items.first { answer = first }
        guard case .dict(let expected) = answer else { return 0 }
        let expectedName = expected["name"] ?? .none
        let expectedParams = expected["parameters"] ?? .dict(PyDict())
        var matched = false
        for call in parsedCalls {
            guard case .dict(let d) = call else { return 0 }
            let name: PyValue, params: PyValue
            if let n = d["name"], let p = d["parameters"] { name = n; params = p } else { name = expectedName; params = call }
            if name.pyEquals(expectedName), params.pyType == .dict, params.pyEquals(expectedParams) { matched = true }
        }
        return matched ? 1 : 0
    }

    /// Scores raw model text against an item.
    public static func score(output: String, item: APIBankItem) -> Int {
        score(parsedCalls: parseToolCalls(output), answer: item.answer)
    }

    /// Loads `level-1.jsonl` … `level-3.jsonl` from `directory`.
    public static func load(directory: String) throws(ToolEvalError) -> [APIBankItem] {
        var items: [APIBankItem] = []
        for level in 1...3 {
            let path = "\(directory)/level-\(level).jsonl"
            for (line, r) in try readJSONLines(path) {
                guard let key = r["key"]?.stringValue, let answer = r["answer"] else {
                    throw .badRecord(path: path, line: line, message: "expected {key, answer}")
                }
                var a = answer
                if case .list(let l) = answer, let first = l.first { a = first }
                items.append(APIBankItem(key: key, level: level, system: r["system"]?.stringValue ?? "",
                                         user: r["user"]?.stringValue ?? "", answer: a))
            }
        }
        return items
    }

    /// Python's `round(100 * correct / total, 2)`.
    public static func percent(_ correct: Int, _ total: Int) -> Double {
        guard total > 0 else { return 0 }
        // `%.2f` rounds the exact binary value, as Python's round(x, 2) does.
        return Double(String(format: "%.2f", 100.0 * Double(correct) / Double(total))) ?? 0
    }
}
