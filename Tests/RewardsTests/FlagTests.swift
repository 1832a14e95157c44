import Testing
import Rewards

/// One test per environment flag, plus option parsing and the registry.
@Suite struct FlagTests {
    let gt2 = gtCalls(#"{"name": "f", "parameters": {"a": 1}}"#, #"{"name": "g", "parameters": {"b": 2}}"#)
    let pdHalf = callResponse(#"{"name": "f", "parameters": {"a": 1}}"#, #"{"name": "g", "parameters": {"b": 3}}"#)
    let gtAB = gtCalls(#"{"name": "f", "parameters": {"a": 1, "b": 2}}"#)
    let pdAC = callResponse(#"{"name": "f", "parameters": {"a": 1, "c": 2}}"#)

    @Test func coarse() throws {
        let o = options { $0.coarseReward = true }
        #expect(try rest(o).score(solution: chat(pdHalf), groundTruth: gt2, step: 0).correctness == -3)
        #expect(try rest().score(solution: chat(pdHalf), groundTruth: gt2, step: 0).correctness == 1.7999999999999998)
        #expect(try rest(o).score(solution: chat(callResponse(#"{"name": "f", "parameters": {"a": 1, "b": 2}}"#)),
                                  groundTruth: gtAB, step: 0).correctness == 3)
    }

    @Test func refined() throws {
        // Default: keys [a,b] vs [a,c] → 1/3; score 1 + (1/3 + 1) over 4 → 6·score/4 − 3 (≈ 0.5); refined → 0.
        #expect(try rest().score(solution: chat(pdAC), groundTruth: gtAB, step: 0).correctness == 0.49999999999999956)
        let o = options { $0.refinedReward = true }
        #expect(try rest(o).score(solution: chat(pdAC), groundTruth: gtAB, step: 0).correctness == 0)
    }

    @Test func intermediate() throws {
        let o = options { $0.intermediateReward = true }
        // names 1 + f exact 1 + g not exact 0 over 1 + 2 → 6·2/3 − 3.
        #expect(try rest(o).score(solution: chat(pdHalf), groundTruth: gt2, step: 0).correctness == 1)
    }

    @Test func correctMax1() throws {
        let o = options { $0.correctMax1 = true }
        #expect(try rest(o).score(solution: chat(pdAC), groundTruth: gtAB, step: 0).correctness == 0.16666666666666652)  // 2·(1 + (1/3 + 1))/4 − 1
        #expect(try rest(o).score(solution: chat("no call"), groundTruth: gtAB, step: 0).correctness == -1)
    }

    @Test func max1Step30Max3() throws {
        let o = options { $0.max1Step30Max3 = true }
        let good = chat(callResponse(#"{"name": "f", "parameters": {"a": 1, "b": 2}}"#))
        let early = try rest(o).score(solution: good, groundTruth: gtAB, step: 29)
        #expect(early.format == 1 && early.correctness == 1 && early.score == 2)
        let late = try rest(o).score(solution: good, groundTruth: gtAB, step: 30)
        #expect(late.format == 0.5 && late.correctness == 3)
        #expect(try rest(o).score(solution: chat("no call"), groundTruth: gtAB, step: 0).correctness == -1)
    }

    @Test func scheduleLength() throws {
        let o = options { $0.withLength = true; $0.scheduleLength = true }
        let words = Array(repeating: "w", count: 96).joined(separator: " ")
        let resp = chat(callResponse(#"{"name": "f", "parameters": {"a": 1, "b": 2}}"#, think: words))
        #expect(try rest(o).score(solution: resp, groundTruth: gtAB, step: 0).length == 0.25)      // 96 / 384
        #expect(try rest(o).score(solution: resp, groundTruth: gtAB, step: 105).length == 0.15)    // 96 / 640 = 0.15
        let plain = options { $0.withLength = true }
        #expect(try rest(plain).score(solution: resp, groundTruth: gtAB, step: 105).length == 0.19) // 96 / 512 = 0.1875
    }

    @Test func environmentParsing() {
        let o = RewardOptions(environment: ["SCHEDULEREWARD": "1", "COARSEREWARD": "true", "REFINEDREWARD": "0",
                                            "WITHLENGTH": " 1", "CORRECTMAX1": "1", "EXPERIMENT_NAME": "llama3-8b"])
        #expect(o.scheduleReward && o.correctMax1 && o.llamaTemplate)
        #expect(!o.coarseReward && !o.refinedReward && !o.withLength)  // only the exact string "1" counts
        #expect(RewardOptions(environment: ["EXPERIMENT_NAME": "Llama"]).llamaTemplate == false)
        let f = RewardOptions(flags: ["INTERMEDIATEREWARD": true, "MAX1STEP30MAX3": true, "SCHEDULELENGTH": false])
        #expect(f.intermediateReward && f.max1Step30Max3 && !f.scheduleLength)
        #expect(RewardOptions(environment: [:]) == RewardOptions())
    }

    @Test func llamaTemplate() throws {
        let o = RewardOptions(environment: ["EXPERIMENT_NAME": "llama-3.2-3b"])
        let body = callResponse(#"{"name": "f", "parameters": {"a": 1, "b": 2}}"#)
        let sol = "<|start_header_id|>user<|end_header_id|>hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            + body + "<|eot_id|>"
        #expect(try rest(o).score(solution: sol, groundTruth: gtAB, step: 0).score == 4)
    }

    @Test func registry() throws {
        #expect(RewardRegistry.names == ["rest", "toolrl"])
        #expect(type(of: try RewardRegistry.make("rest", options: RewardOptions())) == RestReward.self)
        #expect(type(of: try RewardRegistry.make("toolrl", options: RewardOptions())) == ToolRLReward.self)
        #expect(throws: RewardError.unknownVariant("nope")) { try RewardRegistry.make("nope", options: RewardOptions()) }
    }
}

/// Where the two variants' format checks differ.
@Suite struct FormatVariantTests {
    let call = #"{"name": "f", "parameters": {"a": 1}}"#
    var gt: String { gtCalls(call) }

    func formats(_ response: String, gt: String? = nil) throws -> (Double, Double) {
        let g = gt ?? self.gt
        return (try rest().score(solution: chat(response), groundTruth: g, step: 0).format,
                try toolrl().score(solution: chat(response), groundTruth: g, step: 0).format)
    }

    @Test func blankLineBetweenThinkAndCall() throws {
        let (r, t) = try formats("<think>x</think>\n\n<tool_call>\n" + call + "\n</tool_call>")
        #expect(r == 1 && t == 0)
    }

    @Test func textAfterTheLastTag() throws {
        let (r, t) = try formats(callResponse(call) + "\nDone.")
        #expect(r == 1 && t == 0)
    }

    @Test func callTagsNeedTheirOwnLinesInToolRL() throws {
        let (r, t) = try formats("<think>x</think>\n<tool_call>" + call + "</tool_call>")
        #expect(r == 1 && t == 0)
    }

    @Test func responseTagsInACallOnlyAnswer() throws {
        let (r, t) = try formats(callResponse(call) + "\n<response>ok</response>")
        #expect(r == 0 && t == 0)
    }

    @Test func callAndResponse() throws {
        let both = gtCalls(call) + "\n<response>done</response>"
        let good = callResponse(call) + "\n<response>done</response>"
        #expect(try formats(good, gt: both) == (1, 1))
        let swapped = "<think>x</think>\n<response>done</response>\n<tool_call>\n" + call + "\n</tool_call>"
        #expect(try formats(swapped, gt: both) == (0, 0))
        let gap = callResponse(call) + "\n\n<response>done</response>"
        #expect(try formats(gap, gt: both) == (1, 0))
    }

    @Test func responseOnly() throws {
        let gt = "<think> ... </think>\n<response>hi</response>"
        #expect(try formats("<think>x</think>\n<response>hi</response>", gt: gt) == (1, 1))
        #expect(try formats("<think>x</think> <response>hi</response>", gt: gt) == (1, 0))
        #expect(try formats("<response>hi</response><think>x</think>", gt: gt) == (0, 0))
        #expect(try formats("<think>x</think>\n<response>a</response><response>b</response>", gt: gt) == (0, 0))
    }

    @Test func thinkOnlyAnswer() throws {
        let gt = "<think> ... </think>"
        #expect(try formats("<think>x</think>", gt: gt) == (1, 1))
        #expect(try formats("<think>a</think><think>b</think>", gt: gt) == (0, 1))
        #expect(try formats("<think>x</think> tail", gt: gt) == (1, 0))
    }

    @Test func unicodeWhitespaceIsStripped() throws {
        let (r, t) = try formats("\u{3000}" + callResponse(call) + "\u{A0}\u{2029}")
        #expect(r == 1 && t == 1)
    }

    @Test func missingTags() throws {
        #expect(try formats("<think>x\n<tool_call>\n" + call + "\n</tool_call>") == (0, 0))
        #expect(try formats("<think>x</think>\n<tool_call>\n" + call) == (0, 0))
        #expect(try formats("<think>x</think>\n<toolcall>\n" + call + "\n</toolcall>") == (0, 0))
    }
}

/// Python `round(x, n)`.
@Suite struct PyRoundTests {
    @Test func matchesCPython() {
        let cases: [(Double, Int, Double)] = [
            (2.675, 2, 2.67), (0.125, 2, 0.12), (0.375, 2, 0.38), (1.005, 2, 1.0), (-0.125, 2, -0.12),
            (33.335, 2, 33.34), (0.625, 2, 0.62), (0.009765625, 2, 0.01), (0.285, 2, 0.28),
            (1.0 / 3, 2, 0.33), (2.5e-07, 2, 0.0), (123.456, 2, 123.46), (0.5, 0, 0.0), (1.5, 0, 2.0), (2.5, 0, 2.0),
        ]
        for (x, n, want) in cases { #expect(PyRound.round(x, digits: n) == want, "round(\(x), \(n))") }
    }
}
