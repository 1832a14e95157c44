import Testing
import Rewards

/// The reward rules R1–R8 of shared/README.md, on hand-made inputs (expected values worked out by
/// hand from the rules; floats as Python's arithmetic gives them).
@Suite struct RuleTests {
    let f = #"{"name": "f", "parameters": {"a": 1}}"#
    let g = #"{"name": "g", "parameters": {"b": 2}}"#

    @Test func exactMatchIsMaximum() throws {
        for fn in [rest() as any RewardFunction, toolrl()] {
            let r = try fn.score(solution: chat(callResponse(f, g)), groundTruth: gtCalls(f, g), step: 0)
            #expect(r == RewardComponents(score: 4, format: 1, correctness: 3, length: 0))
        }
    }

    @Test func r1ArgumentsKeyIsMinimumWhenNamesMatch() throws {
        let pdArgs = #"{"name": "g", "arguments": {"b": 2}}"#
        let r = try rest().score(solution: chat(callResponse(f, pdArgs)), groundTruth: gtCalls(f, g), step: 0)
        #expect(r.correctness == -3)
        // Names differ: "arguments" is never read, the call simply does not match.
        let pdOther = #"{"name": "h", "arguments": {"b": 2}}"#
        let r2 = try rest().score(solution: chat(callResponse(f, pdOther)), groundTruth: gtCalls(f, g), step: 0)
        #expect(r2.correctness == -0.20000000000000018)  // 6·(1/3 + 2)/5 − 3
        // The whole list equals the ground truth: maximum before any key is read.
        let gtArgs = #"{"name": "f", "arguments": {"a": 1}}"#
        #expect(try rest().score(solution: chat(callResponse(gtArgs)), groundTruth: gtCalls(gtArgs), step: 0).correctness == 3)
        // A ground truth without "parameters" fails inside the try: minimum.
        #expect(try rest().score(solution: chat(callResponse(f)), groundTruth: gtCalls(gtArgs), step: 0).correctness == -3)
    }

    @Test func r2PythonEquality() throws {
        let gt = #"{"name": "f", "parameters": {"a": 1, "b": 2.0, "c": {"x": 1, "y": [1, 2]}}}"#
        let pd = #"{"name": "f", "parameters": {"a": true, "b": 2, "c": {"y": [1.0, 2], "x": 1}}}"#
        #expect(try rest().score(solution: chat(callResponse(pd)), groundTruth: gtCalls(gt), step: 0).correctness == 3)
        // List order matters: one value differs → names 1 + keys 1 + values 2 of 3 → 6·4/5 − 3.
        let pd2 = #"{"name": "f", "parameters": {"a": true, "b": 2, "c": {"y": [2, 1], "x": 1}}}"#
        #expect(try rest().score(solution: chat(callResponse(pd2)), groundTruth: gtCalls(gt), step: 0).correctness
                == 1.7999999999999998)
        // Big integers are exact; a float spelling of one is a different number.
        let big = #"{"name": "f", "parameters": {"n": 12345678901234567890}}"#
        let bigFloat = #"{"name": "f", "parameters": {"n": 12345678901234567890.0}}"#
        #expect(try rest().score(solution: chat(callResponse(big)), groundTruth: gtCalls(big), step: 0).correctness == 3)
        #expect(try rest().score(solution: chat(callResponse(bigFloat)), groundTruth: gtCalls(big), step: 0).correctness == 1)  // 6·2/3 − 3
        // Duplicate keys: the last value wins.
        let dup = #"{"name": "f", "parameters": {"a": 2, "a": 1}}"#
        #expect(try rest().score(solution: chat(callResponse(dup)), groundTruth: gtCalls(f), step: 0).correctness == 3)
    }

    @Test func nanEqualsItselfOnlyInsideContainers() throws {
        let nan = #"{"name": "f", "parameters": {"a": NaN}}"#
        // gt_tools == pd_tools compares lists: the shared NaN object is identical → maximum.
        #expect(try rest().score(solution: chat(callResponse(nan)), groundTruth: gtCalls(nan), step: 0).correctness == 3)
        // Value by value, NaN == NaN is False: names 1 + keys 1 + values 0 of 2 → 6·2/4 − 3 = 0.
        let gt = #"{"name": "f", "parameters": {"a": NaN, "b": 1}}"#
        let pd = #"{"name": "f", "parameters": {"a": NaN, "b": 2}}"#
        #expect(try rest().score(solution: chat(callResponse(pd)), groundTruth: gtCalls(gt), step: 0).correctness == 0)
    }

    @Test func r3EachLineIsOneJSONValue() throws {
        let pretty = "{\n  \"name\": \"f\",\n  \"parameters\": {\"a\": 1}\n}"
        #expect(try rest().score(solution: chat(callResponse(pretty)), groundTruth: gtCalls(f), step: 0).correctness == -3)
        #expect(try rest().score(solution: chat(callResponse(f, "", g)), groundTruth: gtCalls(f, g), step: 0).correctness == -3)
        let pyDict = "{'name': 'f', 'parameters': {'a': 1}}"
        #expect(try rest().score(solution: chat(callResponse(pyDict)), groundTruth: gtCalls(f), step: 0).correctness == -3)
        // Blank lines at the block's edges are stripped away first.
        let padded = "<think>x</think>\n<tool_call>\n\n\n" + f + "\n\n</tool_call>"
        #expect(try rest().score(solution: chat(padded), groundTruth: gtCalls(f), step: 0).correctness == 3)
        // Non-dict or unhashable values fail inside the try → minimum, never a crash.
        let listName = #"{"name": ["g"], "parameters": {"b": 2}}"#
        #expect(try rest().score(solution: chat(callResponse(f, listName)), groundTruth: gtCalls(f, g), step: 0).correctness == -3)
        let intName = #"{"name": 7, "parameters": {"b": 2}}"#
        #expect(try rest().score(solution: chat(callResponse(f, intName)), groundTruth: gtCalls(f, g), step: 0).correctness
                == -0.20000000000000018)
        #expect(try rest().score(solution: chat(callResponse("[1, 2]")), groundTruth: gtCalls(f), step: 0).correctness == -3)
        #expect(try rest().score(solution: chat(callResponse("\"f\"")), groundTruth: gtCalls(f), step: 0).correctness == -3)
    }

    @Test func r4TwoBlocksFailFormatButFirstBlockIsRead() throws {
        let resp = callResponse(f) + "\n<tool_call>\nnot json\n</tool_call>"
        for fn in [rest() as any RewardFunction, toolrl()] {
            let r = try fn.score(solution: chat(resp), groundTruth: gtCalls(f), step: 0)
            #expect(r.format == 0 && r.correctness == 3 && r.score == 3)
        }
    }

    @Test func r5OnlyTheLastAssistantTurnUpToImEnd() throws {
        let after = "\n<|im_start|>user\n<tool_call>\nbroken\n</tool_call>"
        let r = try rest().score(solution: chat(callResponse(f), after: after), groundTruth: gtCalls(f), step: 0)
        #expect(r.score == 4)
        // An earlier assistant turn is ignored: the split takes the last marker.
        let earlier = "<|im_start|>assistant\n<tool_call>\nbroken\n</tool_call><|im_end|>\n" + chat(callResponse(f))
        #expect(try rest().score(solution: earlier, groundTruth: gtCalls(f), step: 0).score == 4)
        // No <|im_end|> (a truncated rollout): the rest of the text is the response.
        let truncated = "<|im_start|>assistant\n" + callResponse(f)
        #expect(try rest().score(solution: truncated, groundTruth: gtCalls(f), step: 0).score == 4)
    }

    @Test func r6LengthIsRoundedAndNotAddedByRest() throws {
        let o = options { $0.withLength = true }
        func words(_ n: Int) -> String { Array(repeating: "w", count: n).joined(separator: " ") }
        // Banker's rounding on the exact binary value: 64/512 = 0.125 → 0.12, 192/512 = 0.375 → 0.38.
        for (n, want) in [(2, 0.0), (5, 0.01), (64, 0.12), (128, 0.25), (192, 0.38), (320, 0.62), (600, 1.0)] {
            let resp = callResponse(f, think: " " + words(n) + "\n")
            let r = try rest(o).score(solution: chat(resp), groundTruth: gtCalls(f), step: 0)
            #expect(r.length == want, "\(n) words")
            #expect(r.score == 4)
            let t = try toolrl(o).score(solution: chat(resp), groundTruth: gtCalls(f), step: 0)
            #expect(t.length == want && t.score == 4 + want)
        }
        // The last <think> block counts; Unicode whitespace separates words, as str.split() does.
        let two = "<think>a b c</think><think>x\u{2003}y\u{3000}z\u{A0}w</think>\n<tool_call>\n" + f + "\n</tool_call>"
        #expect(try rest(o).score(solution: chat(two), groundTruth: gtCalls(f), step: 0).length == PyRound.round2(4.0 / 512))
        // No </think>: the minimum, 0.
        #expect(try rest(o).score(solution: chat("<think>a b c"), groundTruth: gtCalls(f), step: 0).length == 0)
        // Flag off: always 0.
        #expect(try rest().score(solution: chat(callResponse(f, think: words(300))), groundTruth: gtCalls(f), step: 0).length == 0)
    }

    @Test func r7ScheduleRanges() throws {
        let o = options { $0.scheduleReward = true }
        let good = chat(callResponse(f)), bad = chat("<think>x</think>\n<tool_call>\n{\n</tool_call>\nextra</response>")
        let cases: [(Int, Double, Double, Double, Double)] = [
            // step, format max, format min, correctness max, correctness min
            (0, 2, -2, 2, -2), (30, 1.8, -1.6, 2.2, -2.2), (75, 1.5, -1.0, 2.5, -2.5),
            (150, 1, -1, 3, -3), (300, 1, -1, 3, -3),
        ]
        for (step, fHi, fLo, cHi, cLo) in cases {
            let r = try rest(o).score(solution: good, groundTruth: gtCalls(f), step: step)
            #expect(r.format == fHi && r.correctness == cHi, "step \(step)")
            let b = try rest(o).score(solution: bad, groundTruth: gtCalls(f), step: step)
            #expect(b.format == fLo && b.correctness == cLo, "step \(step)")
        }
    }

    @Test func r8UnparseableGroundTruthThrows() throws {
        for fn in [rest() as any RewardFunction, toolrl()] {
            #expect(throws: RewardError.self) {
                try fn.score(solution: chat(callResponse(f)), groundTruth: gtCalls("{bad json"), step: 0)
            }
            do {
                _ = try fn.score(solution: chat(callResponse(f)), groundTruth: gtCalls(f, "", g), step: 0)
                Issue.record("blank ground-truth line must raise")
            } catch {
                #expect(error.pythonType == "JSONDecodeError")
            }
        }
        // No <tool_call> in the ground truth: nothing is parsed, correctness 0.
        #expect(try rest().score(solution: chat(callResponse(f)), groundTruth: "<think>x</think>\n<response>hi</response>", step: 0).correctness == 0)
    }
}
