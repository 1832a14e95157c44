import Foundation
import PyJSON
import Tokenization

/// `tokenizer-cases` files: HF `tokenizers` encode (ids, code point offsets, decode) and decode cases,
/// checked against the tokenizer given with `--tokenizer` (a `tokenizer.json` or a `.tiktoken` file).
public enum TokenizerCasesSuite: ConformanceSuite {
    public static let kind = TokenizerCases.kind

    public static func recognises(firstRecordJSON: String) -> Bool {
        guard case .object(let o)? = try? PyJSON.loads(firstRecordJSON) else { return false }
        return o["kind"]?.stringValue == kind
    }

    public static func run(path: String, context: ConformanceContext) throws -> ConformanceReport {
        guard let tokenizerPath = context.tokenizerPath else {
            throw TokenizerError.invalidFile("tokenizer-cases needs --tokenizer (a tokenizer.json or .tiktoken file)")
        }
        let tokenizer = try Tokenizer.load(path: tokenizerPath)
        let cases = try TokenizerCases(path: path)
        var report = ConformanceReport(context)
        for result in cases.check(tokenizer) { report.record(result.id, result.difference) }
        return report
    }
}
