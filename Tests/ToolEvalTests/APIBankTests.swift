import Testing
import ToolEval

private let answer = py(#"{"name": "GetUserToken", "parameters": {"username": "JohnDoe", "password": "p"}}"#)

private func score(_ output: String) -> Int {
    APIBankScorer.score(parsedCalls: APIBankScorer.parseToolCalls(output), answer: answer)
}

@Test func apiBankScoringRules() {
    let call = #"{"name": "GetUserToken", "parameters": {"username": "JohnDoe", "password": "p"}}"#
    #expect(score("<think>x</think>\n<tool_call>\n\(call)\n</tool_call>") == 1)
    #expect(score("Sure.\n\(call)") == 1)                                                        // no tags: whole output
    #expect(score("<tool_call>\n\(call)\n</tool_call>\n<tool_call>\n{\"name\": \"Other\", \"parameters\": {}}\n</tool_call>") == 0)  // last block only
    #expect(score("<tool_call>\n{\"name\": \"Other\", \"parameters\": {}}\n\(call)\n</tool_call>") == 1)  // any line matches
    #expect(score("<tool_call>\n{\"username\": \"JohnDoe\", \"password\": \"p\"}\n</tool_call>") == 1)    // bare parameters
    #expect(score("<tool_call>\n123\n\(call)\n</tool_call>") == 0)                                       // non-dict aborts
    #expect(score("<tool_call>\n{\"name\": \"GetUserToken\", \"arguments\": {\"username\": \"JohnDoe\", \"password\": \"p\"}}\n</tool_call>") == 0)
    #expect(score("<tool_call>\n{\n\"name\": \"GetUserToken\"\n}\n</tool_call>") == 0)                  // multi-line JSON is dropped
    #expect(score("<tool_call>\n{\"name\": \"GetUserToken\", \"parameters\": {\"username\": \"JohnDoe \", \"password\": \"p\"}}\n</tool_call>") == 0)
    #expect(APIBankScorer.score(parsedCalls: [py(#"{"name": "L", "parameters": {"id": 4}}"#)],
                                answer: py(#"[{"name": "L", "parameters": {"id": "4"}}]"#)) == 0)      // "4" != 4
}

@Test func apiBankAccuracyRounding() {
    #expect(APIBankScorer.percent(2, 3) == 66.67)
    #expect(APIBankScorer.percent(1, 8) == 12.5)
    #expect(APIBankScorer.percent(0, 0) == 0)
}

@Test func apiBankRunPerLevelAndMicroAverage() throws {
    let items = try APIBankScorer.load(directory: fixtures.path("apibank"))
    #expect(!items.isEmpty)
    var predictions = APIBankRunner.oraclePredictions(items: items)
    let oracle = APIBankRunner.run(items: items, predictions: predictions)
    #expect(oracle.overall.correct == items.count)
    predictions[items[0].key] = .raw("<response>no</response>")
    predictions.removeValue(forKey: items[1].key)
    let run = APIBankRunner.run(items: items, predictions: predictions)
    #expect(run.overall.correct == items.count - 2)
    #expect(run.overall.total == run.groups.reduce(0) { $0 + $1.total })
    #expect(run.items.first { $0.id == items[1].key }?.errorType == "missing_prediction")
}
