import Foundation
import PyJSON
import TestSupport
import Testing
import Tokenization
import Trainer

/// Prompts rendered by the reference Qwen3 chat template (see Fixtures/eval_bfcl/SOURCES.md).
private enum ReferencePrompt {
    static let A = "<|im_start|>system\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"math.gcd\", \"description\": \"Compute the greatest common divisor of two numbers\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"num1\": {\"type\": \"integer\", \"description\": \"The first number.\"}, \"num2\": {\"type\": \"integer\", \"description\": \"The second number.\"}}, \"required\": [\"num1\", \"num2\"]}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nCalculate the greatest common divisor of two numbers: 40 and 50<|im_end|>\n<|im_start|>assistant\n"
    static let B = "<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"math.gcd\", \"description\": \"Compute the greatest common divisor of two numbers\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"num1\": {\"type\": \"integer\", \"description\": \"The first number.\"}, \"num2\": {\"type\": \"integer\", \"description\": \"The second number.\"}}, \"required\": [\"num1\", \"num2\"]}}}\n{\"type\": \"function\", \"function\": {\"name\": \"café.find\", \"description\": \"Trouve un café ☕\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"x\": {\"type\": \"float\", \"default\": 1.5}}, \"required\": []}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nFind a café<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    static let C = "<|im_start|>system\nSys text<|im_end|>\n<|im_start|>user\nUser text<|im_end|>\n<|im_start|>assistant\n"
    /// BFCL's `QwenFCHandler` prompt: the functions' own JSON, `json.dumps` with ASCII escapes.
    static let E = "<|im_start|>system\nSys\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"name\": \"math.gcd\", \"description\": \"Compute the greatest common divisor of two numbers\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"num1\": {\"type\": \"integer\", \"description\": \"The first number.\"}, \"num2\": {\"type\": \"integer\", \"description\": \"The second number.\"}}, \"required\": [\"num1\", \"num2\"]}}\n{\"name\": \"caf\\u00e9.find\", \"description\": \"Trouve un caf\\u00e9 \\u2615\", \"parameters\": {\"type\": \"dict\", \"properties\": {\"x\": {\"type\": \"float\", \"default\": 1.5}}, \"required\": []}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nFind a café<|im_end|>\n<|im_start|>assistant\n"
    static let D = "<|im_start|>user\nq1<|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n<|im_start|>system\nlate system<|im_end|>\n<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n"
}

private let gcd = #"{"name": "math.gcd", "description": "Compute the greatest common divisor of two numbers", "parameters": {"type": "dict", "properties": {"num1": {"type": "integer", "description": "The first number."}, "num2": {"type": "integer", "description": "The second number."}}, "required": ["num1", "num2"]}}"#
private let cafe = #"{"name": "café.find", "description": "Trouve un café ☕", "parameters": {"type": "dict", "properties": {"x": {"type": "float", "default": 1.5}}, "required": []}}"#

private func tool(_ json: String) throws -> JSONValue { Qwen3ChatTemplate.openAITool(try PyJSON.loads(json)) }

@Suite struct ChatTemplateTests {
    @Test func bfclQuestionWithOneTool() throws {
        let prompt = Qwen3ChatTemplate.render(
            messages: [ChatMessage(role: "user", content: "Calculate the greatest common divisor of two numbers: 40 and 50")],
            tools: [try tool(gcd)])
        #expect(prompt == ReferencePrompt.A)
    }

    @Test func systemMessageJoinsTheToolBlockAndThinkingOff() throws {
        let prompt = Qwen3ChatTemplate.render(
            messages: [ChatMessage(role: "system", content: "You are a helpful assistant."), ChatMessage(role: "user", content: "Find a café")],
            tools: [try tool(gcd), try tool(cafe)], enableThinking: false)
        #expect(prompt == ReferencePrompt.B)
    }

    @Test func bfclHandlerStyleWritesRawFunctionsWithASCIIEscapes() throws {
        let prompt = Qwen3ChatTemplate.render(
            messages: [ChatMessage(role: "system", content: "Sys"), ChatMessage(role: "user", content: "Find a café")],
            tools: [try PyJSON.loads(gcd), try PyJSON.loads(cafe)], asciiToolJSON: true)
        #expect(prompt == ReferencePrompt.E)
    }

    @Test func reasoningIsStrippedAsBFCLDoes() {
        #expect(Qwen3ChatTemplate.stripReasoning("<think>\nhmm\n</think>\n\n<tool_call>\nx\n</tool_call>") == "<tool_call>\nx\n</tool_call>")
        #expect(Qwen3ChatTemplate.stripReasoning("a</think>b</think>\n c") == " c")
        #expect(Qwen3ChatTemplate.stripReasoning("<think>unfinished") == "<think>unfinished")
        #expect(Qwen3ChatTemplate.stripReasoning("plain") == "plain")
    }

    @Test func noToolsSystemAndUser() {
        let prompt = Qwen3ChatTemplate.render(messages: [ChatMessage(role: "system", content: "Sys text"), ChatMessage(role: "user", content: "User text")])
        #expect(prompt == ReferencePrompt.C)
    }

    @Test func toolResponsesAreGroupedAndLateSystemKept() {
        let prompt = Qwen3ChatTemplate.render(messages: [
            ChatMessage(role: "user", content: "q1"), ChatMessage(role: "tool", content: "r1"), ChatMessage(role: "tool", content: "r2"),
            ChatMessage(role: "system", content: "late system"), ChatMessage(role: "user", content: "q2"),
        ])
        #expect(prompt == ReferencePrompt.D)
    }
}

/// A small untied random model over the whole Qwen3 vocabulary, so the real tokenizer drives it.
private func qwenVocabModel() throws -> (Qwen3Model, QwenCodec) {
    let codec = QwenCodec(tokenizer: try TestFixtures.qwenTokenizer())
    let config = ModelConfig(vocabSize: codec.vocabularySize, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 2,
                             numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 8, ropeTheta: 10_000, tieWordEmbeddings: false)
    let model = try Qwen3Model(config: config, backend: CPUBackend())
    model.randomInit(seed: 7, std: 0.5)
    return (model, codec)
}

@Suite struct GreedyGenerationTests {
    let prompt = ReferencePrompt.A

    @Test func defaultStopTokensAreQwenEndOfTurn() throws {
        let (model, codec) = try qwenVocabModel()
        let g = try GreedyGenerator(model: model, codec: codec)
        #expect(g.stopIDs == [151645, 151643])
        #expect(g.maxNewTokens == 256)
        #expect(throws: TrainerError.self) { try GreedyGenerator(model: model, codec: codec, stopTokens: ["<|no such|>"]) }
        #expect(throws: TrainerError.self) { try GreedyGenerator(model: model, codec: codec, maxNewTokens: 0) }
    }

    @Test func greedyIsDeterministicAndAgreesWithAFullForward() throws {
        let (model, codec) = try qwenVocabModel()
        let gen = GreedyGenerator(model: model, codec: codec, maxNewTokens: 12, stopIDs: [])
        let promptIDs = try codec.encode(prompt)
        #expect(promptIDs.first == 151644)  // <|im_start|> is one special id, not text
        let a = try gen.generate(prompt: prompt)
        let b = try gen.generate(prompt: prompt)
        #expect(a == b)
        #expect(a.ids.count == 12 && a.finish == .length)
        #expect(a.promptTokens == promptIDs.count)
        #expect(a.text == codec.decode(a.ids))
        // The KV-cached steps must pick the argmax of an uncached forward over prompt + output.
        let all = promptIDs + a.ids
        let pass = try model.forward(ids: all, batch: 1, time: all.count)
        let logits = model.backend.download(pass.logits)
        let v = model.config.vocabSize
        for (k, id) in a.ids.enumerated() {
            let row = logits[((promptIDs.count - 1 + k) * v)..<((promptIDs.count + k) * v)]
            let best = row.max()!
            #expect(row[row.startIndex + Int(id)] >= best - 1e-4 * max(1, abs(best)), "step \(k)")
        }
    }

    @Test func generationStopsAtTheFirstStopTokenWhichIsDropped() throws {
        let (model, codec) = try qwenVocabModel()
        let free = try GreedyGenerator(model: model, codec: codec, maxNewTokens: 12, stopIDs: []).generate(prompt: prompt)
        // A token that first appears after step 0, so the cut is visible.
        let k = try #require(free.ids.indices.first { $0 > 0 && !free.ids[..<$0].contains(free.ids[$0]) },
                             "random model produced one repeated token: \(free.ids)")
        let stop = free.ids[k]
        let cut = try GreedyGenerator(model: model, codec: codec, maxNewTokens: 12, stopIDs: [stop]).generate(prompt: prompt)
        #expect(cut.ids == Array(free.ids[..<k]))
        #expect(cut.finish == .stop(stop))
        #expect(cut.text == codec.decode(Array(free.ids[..<k])))
        // A shorter budget ends earlier, as a prefix.
        let short = try GreedyGenerator(model: model, codec: codec, maxNewTokens: 3, stopIDs: []).generate(prompt: prompt)
        #expect(short.ids == Array(free.ids.prefix(3)) && short.finish == .length)
    }
}

/// Batched greedy decoding (left-padded prompts of different lengths, per-row stops) gives
/// exactly the ids of one-prompt-at-a-time decoding.
@Suite struct BatchedGenerationTests {
    static let prompts = [ReferencePrompt.A, ReferencePrompt.B, ReferencePrompt.C, ReferencePrompt.D, ReferencePrompt.E,
                          "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", ReferencePrompt.C + "ok", "x"]

    @Test func batchOfEightEqualsBatchOfOne() throws {
        let (model, codec) = try qwenVocabModel()
        let free = GreedyGenerator(model: model, codec: codec, maxNewTokens: 9, stopIDs: [])
        let lengths = try Self.prompts.map { try codec.encode($0).count }
        #expect(Set(lengths).count >= 6, "prompt lengths \(lengths)")
        let aloneFree = try Self.prompts.map { try free.generate(prompt: $0) }
        #expect(try free.generate(prompts: Self.prompts) == aloneFree)
        // A stop id that row 0 produces mid-way: rows stop at different steps.
        let stop = try #require(aloneFree[0].ids.dropFirst(2).first { id in !aloneFree[0].ids.prefix(2).contains(id) })
        let stopping = GreedyGenerator(model: model, codec: codec, maxNewTokens: 9, stopIDs: [stop])
        let alone = try Self.prompts.map { try stopping.generate(prompt: $0) }
        #expect(alone.contains { $0.finish == .stop(stop) } && alone.contains { $0.finish == .length })
        #expect(try stopping.generate(prompts: Self.prompts) == alone)
    }
}

/// `rest-shaper eval bfcl --model DIR` end to end, through the CLI binary built next to the tests.
@Suite struct EvalModelCLITests {
    static var binary: URL? {
        let dir = Bundle.module.bundleURL.deletingLastPathComponent()
        let url = dir.appendingPathComponent("rest-shaper")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }

    private func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try #require(Self.binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test(.enabled(if: binary != nil, "the rest-shaper binary is not built next to the tests"))
    func bfclModelRunGeneratesWritesAndScores() throws {
        let (model, _) = try qwenVocabModel()
        let dir = Fx.tempDir("evalmodel")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelDir = dir.appendingPathComponent("model")
        try model.save(directory: modelDir)
        let data = try fixtures.path("eval_bfcl")
        let predictions = dir.appendingPathComponent("pred.jsonl").path
        let report = dir.appendingPathComponent("report.html").path
        let r = try run(["eval", "bfcl", "--model", modelDir.path, "--tokenizer", TestFixtures.qwenTiktokenPath,
                         "--data", data, "--category", "simple_python", "--limit", "3", "--max-new-tokens", "6",
                         "--write-predictions", predictions, "--report", report])
        #expect(r.status == 0, "stderr: \(r.err)")
        // The table: one category line and the overall line, 3 items each (the 4th is beyond --limit).
        let rows = r.out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.contains(["simple_python", "0", "3", "0.00"]), "\(r.out)")
        #expect(rows.contains(["overall", "0", "3", "0.00"]), "\(r.out)")
        #expect(r.err.contains("[3] simple_python_69"))
        // --quiet: the same results on stdout, nothing on stderr (no per-item lines, no progress).
        let quiet = try run(["eval", "bfcl", "--model", modelDir.path, "--tokenizer", TestFixtures.qwenTiktokenPath,
                             "--data", data, "--category", "simple_python", "--limit", "3", "--max-new-tokens", "6", "--quiet"])
        let quietRows = quiet.out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(quiet.status == 0 && quietRows.contains(["overall", "0", "3", "0.00"]), "\(quiet.out)")
        #expect(quiet.err.isEmpty, "stderr: \(quiet.err)")
        // One raw generation per generated item, in data order.
        let lines = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try PyJSON.loads(String($0)) }
        #expect(records.map { $0.objectValue?["id"]?.stringValue } == ["simple_python_18", "simple_python_19", "simple_python_69"])
        #expect(records.allSatisfy { $0.objectValue?["result"]?.stringValue != nil })
        // Every generated item has a verdict in the report; the one past the limit is absent.
        let html = try String(contentsOfFile: report, encoding: .utf8)
        for id in ["simple_python_18", "simple_python_19", "simple_python_69"] { #expect(html.contains(id)) }
        #expect(!html.contains("simple_python_88"))

        // Scoring the written file with --predictions gives the same verdicts (plus the missing 4th).
        let again = try run(["eval", "bfcl", "--predictions", predictions, "--format", "qwen-fc", "--data", data, "--json"])
        #expect(again.status == 0, "stderr: \(again.err)")
        let json = try PyJSON.loads(again.out)
        let group = json.objectValue?["groups"]?.arrayValue?.first?.objectValue
        #expect(group?["total"]?.intValue == 4 && group?["correct"]?.intValue == 0)
    }

    /// `--batch 8` generates the same predictions as `--batch 1`: 13 BFCL live_simple items
    /// (prompts of ~100 to ~900 tokens), so one full batch of 8 and one of 5.
    @Test(.enabled(if: binary != nil, "the rest-shaper binary is not built next to the tests"))
    func batchEightWritesTheSamePredictionsAsBatchOne() throws {
        let (model, _) = try qwenVocabModel()
        let dir = Fx.tempDir("evalbatch")
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelDir = dir.appendingPathComponent("model")
        try model.save(directory: modelDir)
        let data = try fixtures.path("eval_bfcl_batch")
        var files: [String] = [], logs: [String] = []
        for batch in [1, 8] {
            let predictions = dir.appendingPathComponent("pred-\(batch).jsonl").path
            let r = try run(["eval", "bfcl", "--model", modelDir.path, "--tokenizer", TestFixtures.qwenTiktokenPath, "--data", data, "--category", "live_simple",
                             "--max-new-tokens", "7", "--batch", String(batch), "--write-predictions", predictions])
            #expect(r.status == 0, "stderr: \(r.err)")
            files.append(try String(contentsOfFile: predictions, encoding: .utf8))
            logs.append(r.err)
        }
        // The batches happened: 8 items in a batch of 8, 5 in a batch of 5, none alone.
        #expect(logs[1].components(separatedBy: "in a batch of 8,").count - 1 == 8, "\(logs[1])")
        #expect(logs[1].components(separatedBy: "in a batch of 5,").count - 1 == 5, "\(logs[1])")
        #expect(logs[0].components(separatedBy: "in a batch of").count == 1, "\(logs[0])")
        #expect(files[0].split(separator: "\n").count == 13)
        #expect(files[0] == files[1])
    }

    @Test(.enabled(if: binary != nil, "the rest-shaper binary is not built next to the tests"))
    func sourcesAreExclusiveAndLimitNeedsModel() throws {
        let data = try fixtures.path("eval_bfcl")
        let both = try run(["eval", "bfcl", "--model", "/nonexistent", "--oracle", "--data", data])
        #expect(both.status != 0 && both.err.contains("exactly one of"))
        let limit = try run(["eval", "bfcl", "--oracle", "--limit", "2", "--data", data])
        #expect(limit.status != 0 && limit.err.contains("--limit needs --model"))
        let empty = Fx.tempDir("evalmodel-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        let noTokenizer = try run(["eval", "bfcl", "--model", empty.path, "--category", "simple_python", "--data", data])
        #expect(noTokenizer.status != 0 && noTokenizer.err.contains("no tokenizer"))
    }
}
