import Foundation
import Tokenization

/// Runs the other side of a same-run comparison (a Python script printing one JSON object on
/// stdout) as a child process, so both sides are timed on the machine in the same minutes.
public enum ExternalBenchmark {
    /// Why the other side could not be measured.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `executable arguments…`, passes its stderr through, and decodes the last line of its
    /// stdout that starts with `{`… or the whole stdout as one JSON object.
    public static func runJSON<T: Decodable>(_ type: T.Type, executable: String, arguments: [String]) throws -> T {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        do { try p.run() } catch { throw Failure(description: "cannot run \(executable): \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited with status \(p.terminationStatus)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw Failure(description: "\(executable) \(arguments.first ?? "") printed no JSON this benchmark understands: \(error)")
        }
    }

    /// The Python for the other side: the user's choice, else the repository's `.venv`, else the system's.
    public static func python(_ chosen: String?) -> String {
        chosen ?? (FileManager.default.isExecutableFile(atPath: ".venv/bin/python") ? ".venv/bin/python" : "/usr/bin/python3")
    }

    /// True when `python -c "import module"` succeeds (a missing optional dependency is a skip, not a failure).
    public static func pythonHas(_ python: String, module: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", "import \(module)"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Writes the tokenizer's added tokens as `[{"id", "content", "special"}]`, which the Python
    /// sides need to build a HF tokenizer from a tiktoken rank file (examples/bench/hf_tokenizer.py).
    public static func writeAddedTokens(of tokenizer: Tokenizer, to url: URL) throws {
        struct Added: Encodable { var id: Int32; var content: String; var special: Bool }
        try JSONEncoder().encode(tokenizer.addedTokens.map { Added(id: $0.id, content: $0.content, special: $0.special) }).write(to: url)
    }
}
