import Foundation

/// Errors reading or analysing metrics logs.
public enum AnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    case io(String)
    case parse(file: String, line: Int, message: String)
    case noData(String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .io(let m): return m
        case .parse(let f, let l, let m): return "\(f):\(l): \(m)"
        case .noData(let m): return "no data: \(m)"
        case .invalidOption(let m): return m
        }
    }
}

/// One line of a metrics log: its numbers under flattened keys (nested objects joined with `/`,
/// e.g. `entropyByRegion/think`, `gradStats/variance`) and its strings (e.g. `phase`).
public struct MetricsRecord: Sendable, Equatable {
    public var numbers: [String: Double]
    public var strings: [String: String]
    public init(numbers: [String: Double] = [:], strings: [String: String] = [:]) { self.numbers = numbers; self.strings = strings }
}

/// A metrics JSONL file (one JSON object per line): the fallback trainer's `metrics.jsonl`, a TRL
/// `log_history` written one entry per line, or a VERL log exported as JSONL (flat
/// `{"actor/grad_norm": …}` objects, or `{"step": N, "data": {…}}`, whose `data` keys are read
/// as top-level keys). Arrays, booleans and nulls are ignored.
public struct RunLog: Sendable {
    /// The file's path as given.
    public var path: String
    /// The run's name: the file name without `.jsonl`, or the folder name for `DIR/metrics.jsonl`.
    public var name: String
    public var records: [MetricsRecord]

    public init(path: String, name: String, records: [MetricsRecord]) { self.path = path; self.name = name; self.records = records }

    /// Reads `path`: a JSONL file, or a run folder holding `metrics.jsonl`.
    public static func load(path: String) throws -> RunLog {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw AnalysisError.io("\(path): no such file") }
        let file = isDir.boolValue ? (path as NSString).appendingPathComponent("metrics.jsonl") : path
        guard let data = FileManager.default.contents(atPath: file) else { throw AnalysisError.io("cannot read \(file)") }
        let name = isDir.boolValue ? (path as NSString).lastPathComponent
            : ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse(data, path: file, name: name)
    }

    /// Parses JSONL text (blank lines are skipped; any other line must be a JSON object).
    public static func parse(_ data: Data, path: String, name: String) throws -> RunLog {
        let decoder = JSONDecoder()
        var records: [MetricsRecord] = []
        var lineNo = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
            let value: JSONValue
            do { value = try decoder.decode(JSONValue.self, from: Data(line)) } catch {
                throw AnalysisError.parse(file: path, line: lineNo, message: "not JSON (\(Self.describe(error)))")
            }
            guard case .object(var object) = value else {
                throw AnalysisError.parse(file: path, line: lineNo, message: "a metrics line must be a JSON object")
            }
            if case .object(let inner)? = object["data"] {   // {"step": N, "data": {...}}
                object["data"] = nil
                for (k, v) in inner where object[k] == nil { object[k] = v }
            }
            var rec = MetricsRecord()
            flatten(object, prefix: "", into: &rec)
            records.append(rec)
        }
        return RunLog(path: path, name: name, records: records)
    }

    static func flatten(_ object: [String: JSONValue], prefix: String, into rec: inout MetricsRecord) {
        for (k, v) in object {
            let key = prefix + k
            switch v {
            case .number(let d): rec.numbers[key] = d
            case .string(let s): rec.strings[key] = s
            case .object(let o): flatten(o, prefix: key + "/", into: &rec)
            case .bool, .array, .null: break
            }
        }
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let ctx) = error { return ctx.debugDescription }
        return "\(error)"
    }
}

/// A JSON value read with Codable (metrics lines are objects of arbitrary shape).
enum JSONValue: Decodable, Sendable {
    case number(Double), string(String), bool(Bool), object([String: JSONValue]), array([JSONValue]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported JSON value") }
    }
}
