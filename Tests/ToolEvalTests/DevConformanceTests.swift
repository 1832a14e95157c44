import Foundation
import Testing
import Conformance

/// Runs every reference file under Fixtures/ through its conformance suite.
@Test func devConformance() throws {
    let dir = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".jsonl") {
        let path = dir.appendingPathComponent(name).path
        let first = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        guard let suite = ConformanceRegistry.all.first(where: { $0.recognises(firstRecordJSON: first) }) else { continue }
        let report = try suite.run(path: path, context: ConformanceContext())
        print("\(name): \(report.summary)")
        for f in report.failures.prefix(40) { print("  \(f)") }
        #expect(report.failed == 0)
    }
}
