import Foundation
import Testing
import ToolEval

@Test func oracleMatchesTheCheckerRecordsOnTheVendoredSubset() throws {
    let dataset = try BFCLDataset.load(directory: fixtures.path("bfcl"), forIDs: [
        "simple_python_0", "live_simple_0-0-0", "simple_java_0", "simple_javascript_0", "parallel_0", "irrelevance_0",
    ])
    // Every record of kind first_possible_answer must get the same verdict from the oracle's predictions.
    var checked = 0
    for (_, record) in try readJSONLines(fixtures.path("bfcl_checker_subset.jsonl")) {
        guard record["kind"]?.stringValue == "first_possible_answer", let id = record["id"]?.stringValue,
              let category = BFCLCategory.of(id: id) else { continue }
        let ds = try BFCLDataset.load(directory: fixtures.path("bfcl"), categories: [category])
        let predictions = BFCLOracle.predictions(dataset: ds, categories: [category])
        guard case .decoded(let calls)? = predictions[id] else { Issue.record("no oracle for \(id)"); continue }
        #expect(calls.strictlyEquals(record["prediction"]!), "\(id)")
        checked += 1
    }
    #expect(checked > 3)
    #expect(!dataset.entries.isEmpty)
}

@Test func runnerScoresRawAndDecodedPredictions() throws {
    let ds = try BFCLDataset.load(directory: fixtures.path("bfcl"), categories: ["simple_python", "irrelevance"])
    var predictions = BFCLOracle.predictions(dataset: ds, categories: ["simple_python", "irrelevance"])
    let python = ds.order["simple_python"]!
    predictions[python[0]] = .raw("I don't know")          // decodes as a bare name: wrong format
    predictions.removeValue(forKey: python[1])
    let run = BFCLRunner.run(dataset: ds, predictions: predictions, categories: ["simple_python", "irrelevance"])
    let first = run.items.first { $0.id == python[0] }!
    #expect(!first.valid)
    #expect(run.items.first { $0.id == python[1] }?.errorType == "missing_prediction")
    #expect(run.groups.map(\.name) == ["simple_python", "irrelevance"])
    #expect(run.overall.total == ds.entries.count)

    let table = EvalReport.table(run)
    #expect(table.contains("simple_python") && table.contains("overall"))
    let json = try PyValue.parse(json: EvalReport.json(run, elapsedSeconds: 0.5))
    #expect(json.dictValue?["overall"]?.dictValue?["total"]?.pyEquals(.int(run.overall.total)) == true)
    let html = EvalReport.html(run, title: "t <&>", elapsedSeconds: 0.5)
    #expect(html.contains("t &lt;&amp;&gt;"))
    #expect(html.contains(python[0]) && html.contains("missing_prediction"))
    #expect(!html.contains("<script"))
}

@Test func predictionsFileFormat() throws {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("tooleval-preds-\(getpid()).jsonl")
    try """
    {"id": "simple_python_0", "result": "[f(x=1)]"}
    {"id": "simple_python_1", "result": [{"f": {"x": {"__tuple__": [1, 2]}}}]}

    """.write(to: tmp, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let p = try BFCLRunner.readPredictions(tmp.path)
    guard case .raw(let text)? = p["simple_python_0"], case .decoded(let calls)? = p["simple_python_1"] else {
        Issue.record("wrong prediction kinds"); return
    }
    #expect(text == "[f(x=1)]")
    #expect(calls.strictlyEquals(py(#"[{"f": {"x": {"__tuple__": [1, 2]}}}]"#)))
    #expect(BFCLCategory.of(id: "live_parallel_multiple_3-2-1") == "live_parallel_multiple")
}
