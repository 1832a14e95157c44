import Foundation
import Testing
import Conformance

/// Every vendored reference file is recognised by its suite and passes completely.
@Test(arguments: [
    ("bfcl_checker_subset.jsonl", "bfcl-checker"),
    ("bfcl_decode_refs.jsonl", "bfcl-decode"),
    ("diff_decode.jsonl", "bfcl-decode"),
    ("diff_decode_cfamily.jsonl", "bfcl-decode"),
    ("diff_decode_cfamily2.jsonl", "bfcl-decode"),
    ("apibank/score_refs.jsonl", "apibank-score"),
    ("rlla/reward_refs_subset.jsonl", "rlla-reward-refs"),
])
func referenceFilePasses(file: String, kind: String) throws {
    let path = try fixtures.path(file)
    let first = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
    let suites = ConformanceRegistry.all.filter { $0.recognises(firstRecordJSON: first) }
    #expect(suites.map { $0.kind } == [kind])
    guard let suite = suites.first else { return }
    let report = try suite.run(path: path, context: ConformanceContext())
    print("\(file): \(report.summary)")
    #expect(report.failed == 0, "\(report.failures.prefix(12))")
    #expect(report.passed > 20)
}

/// A wrong expectation is reported (the suites can fail).
@Test func suiteReportsDifferences() throws {
    let src = try fixtures.text("bfcl_decode_refs.jsonl")
    let line = src.split(separator: "\n").first { $0.contains("\"ok\": true") }!
    let tampered = line.replacingOccurrences(of: "\"ok\": true", with: "\"ok\": false")
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tooleval-tampered-\(getpid()).jsonl")
    try (tampered + "\n").write(to: tmp, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let report = try BFCLDecodeSuite.run(path: tmp.path, context: ConformanceContext())
    #expect(report.failed == 1)
    #expect(report.summary == "0 passed, 1 failed")
}
