import ArgumentParser
import Conformance
import Console
import Foundation

/// `rest-shaper conformance FILE`: checks a reference file (golden vectors, tokenizer cases, BFCL
/// checker/decoder records, API-Bank scores, ToolRL reward references) and prints one line per
/// failing case, then exactly `N passed, M failed`. Exits non-zero iff a case failed.
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Check a reference file; prints one line per failing case and then 'N passed, M failed'.",
        discussion: "Recognised files: \(ConformanceRegistry.all.map { $0.kind }.joined(separator: ", "))."
    )

    @Argument(help: "The reference file (.json with a `kind` field, or .jsonl recognised by its fields).")
    var file: String

    @Option(help: "Tokenizer: a HuggingFace tokenizer.json or a qwen.tiktoken rank file.")
    var tokenizer: String?

    @OptionGroup var progress: ProgressOptions

    func run() throws {
        // Cases are counted ahead only for JSON lines (one per line); a .json file shows a count and a rate.
        let total = file.hasSuffix(".jsonl") ? (FileManager.default.contents(atPath: file).map { d in
            d.split(separator: UInt8(ascii: "\n")).filter { !$0.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }.count }) : nil
        let meter = progress.meter("conformance", total: total, unit: .items("cases"))
        let (_, report) = try ConformanceRunner.run(path: file, context: ConformanceContext(tokenizerPath: tokenizer) { meter.update($0) })
        meter.finish()
        for line in report.failures { print(line) }
        print(report.summary)
        if report.failed > 0 { throw ExitCode(1) }
    }
}
