import Foundation
import PyJSON

/// Errors of the conformance runner itself (as opposed to failing cases).
public enum ConformanceError: Error, CustomStringConvertible {
    case unreadable(String)
    case unknownKind(String)
    case missingTokenizer(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .unreadable(let p): return "cannot read \(p)"
        case .unknownKind(let p): return "\(p): not a known reference file (no suite recognises its kind or fields)"
        case .missingTokenizer(let k): return "\(k) files need --tokenizer PATH (tokenizer.json or qwen.tiktoken)"
        case .malformed(let m): return "malformed reference file: \(m)"
        }
    }
}

/// Finds the suite for a reference file and runs it.
public enum ConformanceRunner {
    /// The probe handed to ``ConformanceSuite/recognises(firstRecordJSON:)``: the first record of a
    /// `.jsonl` file, or `{"kind": …, "keys": […]}` for a `.json` file.
    public static func probe(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConformanceError.unreadable(path) }
        let text = String(decoding: data, as: UTF8.self)
        if path.hasSuffix(".jsonl") {
            guard let first = text.split(separator: "\n").first(where: { !$0.allSatisfy(\.isWhitespace) }) else {
                throw ConformanceError.malformed("\(path): empty")
            }
            return String(first)
        }
        let value: JSONValue
        do { value = try PyJSON.loads(text) } catch { throw ConformanceError.malformed("\(path): \(error)") }
        guard case .object(let obj) = value else { throw ConformanceError.malformed("\(path): top level is not an object") }
        var probe = JSONObject()
        probe["kind"] = obj["kind"] ?? .null
        probe["keys"] = .array(obj.keys.map { .string($0) })
        return PyJSON.dumps(.object(probe))
    }

    /// The suite that recognises `path`, if any.
    public static func suite(for path: String) throws -> any ConformanceSuite.Type {
        let probe = try probe(path: path)
        guard let suite = ConformanceRegistry.all.first(where: { $0.recognises(firstRecordJSON: probe) }) else {
            throw ConformanceError.unknownKind(path)
        }
        return suite
    }

    /// Checks every case of `path` with the suite that recognises it.
    public static func run(path: String, context: ConformanceContext) throws -> (kind: String, report: ConformanceReport) {
        let suite = try suite(for: path)
        return (suite.kind, try suite.run(path: path, context: context))
    }
}
