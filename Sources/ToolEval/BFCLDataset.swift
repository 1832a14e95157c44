import Foundation
import PyJSON

/// Errors reading evaluation data or predictions.
public enum ToolEvalError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String)
    case badJSON(path: String, line: Int, message: String)
    case badRecord(path: String, line: Int, message: String)
    case unknownCategory(String)
    case missingEntry(id: String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .unreadable(let p): "cannot read \(p)"
        case .badJSON(let p, let l, let m): "\(p):\(l): invalid JSON: \(m)"
        case .badRecord(let p, let l, let m): "\(p):\(l): \(m)"
        case .unknownCategory(let c): "unknown BFCL category '\(c)' (known: \(BFCLCategory.all.joined(separator: ", ")))"
        case .missingEntry(let id): "no BFCL entry with id '\(id)' in the data directory"
        case .unavailable(let m): m
        }
    }
}

/// The BFCL v3 AST categories (files are named `BFCL_v4_<category>.json` in `bfcl-eval`).
public enum BFCLCategory {
    public static let all = [
        "simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple",
        "irrelevance", "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
        "live_irrelevance", "live_relevance",
    ]
    /// Relevance categories are scored on whether any call was decoded, not by the AST checker.
    public static func isRelevance(_ c: String) -> Bool { c.contains("relevance") }

    /// The category of an entry id (`live_multiple_10-4-2` → `live_multiple`).
    public static func of(id: String) -> String? {
        all.filter { id.hasPrefix($0 + "_") }.max { $0.count < $1.count }
    }
}

/// One BFCL question: its functions (JSON schemas as Python values) and accepted answers.
public struct BFCLEntry: Sendable {
    public var id: String
    public var category: String
    public var functions: [PyValue]
    /// `ground_truth`: one `{func: {param: [accepted values]}}` per expected call; empty for relevance categories.
    public var groundTruth: [PyValue]

    public init(id: String, category: String, functions: [PyValue], groundTruth: [PyValue]) {
        self.id = id; self.category = category; self.functions = functions; self.groundTruth = groundTruth
    }
}

/// BFCL questions and possible answers read from a `bfcl-eval`-style data directory
/// (`BFCL_v4_<category>.json` + `possible_answer/BFCL_v4_<category>.json`, one JSON object per line).
public struct BFCLDataset: Sendable {
    public private(set) var entries: [String: BFCLEntry] = [:]
    /// Ids per category, in file order.
    public private(set) var order: [String: [String]] = [:]

    public init() {}

    /// Loads `categories` from `directory`.
    public static func load(directory: String, categories: [String] = BFCLCategory.all) throws(ToolEvalError) -> BFCLDataset {
        var ds = BFCLDataset()
        for c in categories {
            guard BFCLCategory.all.contains(c) else { throw .unknownCategory(c) }
            try ds.add(category: c, directory: directory)
        }
        return ds
    }

    /// Loads whichever categories the ids need.
    public static func load(directory: String, forIDs ids: [String]) throws(ToolEvalError) -> BFCLDataset {
        var cats: [String] = []
        for id in ids { if let c = BFCLCategory.of(id: id), !cats.contains(c) { cats.append(c) } }
        return try load(directory: directory, categories: cats)
    }

    mutating func add(category: String, directory: String) throws(ToolEvalError) {
        let qPath = "\(directory)/BFCL_v4_\(category).json"
        var answers: [String: [PyValue]] = [:]
        if !BFCLCategory.isRelevance(category) {
            let aPath = "\(directory)/possible_answer/BFCL_v4_\(category).json"
            for (line, obj) in try readJSONLines(aPath) {
                guard case .str(let id)? = obj["id"], case .list(let gt)? = obj["ground_truth"] else {
                    throw .badRecord(path: aPath, line: line, message: "expected {id, ground_truth}")
                }
                answers[id] = gt
            }
        }
        var ids: [String] = []
        for (line, obj) in try readJSONLines(qPath) {
            guard case .str(let id)? = obj["id"], case .list(let functions)? = obj["function"] else {
                throw .badRecord(path: qPath, line: line, message: "expected {id, function}")
            }
            entries[id] = BFCLEntry(id: id, category: category, functions: functions, groundTruth: answers[id] ?? [])
            ids.append(id)
        }
        order[category] = ids
    }
}

/// Reads a JSON-lines file into (1-based line number, object) pairs; blank lines are skipped.
public func readJSONLines(_ path: String) throws(ToolEvalError) -> [(Int, PyDict)] {
    var out: [(Int, PyDict)] = []
    for (line, value) in try readJSONLinesRaw(path) {
        guard case .object = value, case .dict(let d) = PyValue(json: value) else {
            throw .badRecord(path: path, line: line, message: "expected a JSON object")
        }
        out.append((line, d))
    }
    return out
}

/// Reads a JSON-lines file as `JSONValue`s.
public func readJSONLinesRaw(_ path: String) throws(ToolEvalError) -> [(Int, JSONValue)] {
    guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
    var out: [(Int, JSONValue)] = []
    var lineNo = 0
    let bytes = [UInt8](data)
    var start = 0
    while start < bytes.count {
        var i = start
        while i < bytes.count && bytes[i] != 0x0A { i += 1 }
        lineNo += 1
        let slice = bytes[start..<i]
        if slice.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) {
            let parsed: Result<JSONValue, JSONError> = slice.withUnsafeBytes { raw in
                do throws(JSONError) { return .success(try PyJSON.loads(raw)) } catch { return .failure(error) }
            }
            switch parsed {
            case .success(let v): out.append((lineNo, v))
            case .failure(let e): throw .badJSON(path: path, line: lineNo, message: e.description)
            }
        }
        start = i + 1
    }
    return out
}
