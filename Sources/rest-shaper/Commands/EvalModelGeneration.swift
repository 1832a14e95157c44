import ArgumentParser
import Console
import Foundation
import PyJSON
import ToolEval
import Trainer

/// Options of `rest-shaper eval … --model DIR`: greedy generation with the fallback trainer's model.
struct EvalGenerationOptions: ParsableArguments {
    @Option(name: .long, help: "Tokenizer for --model (tokenizer.json or a tiktoken rank file). Default: DIR/tokenizer.json.")
    var tokenizer: String?

    @Option(name: .long, help: "Backend for --model: cpu, cuda or auto (CUDA when a device opens, else cpu).")
    var backend: String = "cpu"

    @Option(name: .long, help: "Most tokens generated per item with --model.")
    var maxNewTokens: Int = 256

    @Option(name: .long, help: "With --model: generate and score only the first N items of each category / level.")
    var limit: Int?

    @Option(name: .long, help: "With --model: also write every prompt as JSON lines {id, prompt} to this file.")
    var writePrompts: String?

    @Flag(name: .long, help: "With --model: disable Qwen3 thinking (the generation prompt ends with an empty <think></think>).")
    var noThinking = false

    @OptionGroup var progress: ProgressOptions

    @Option(name: .long, help: ArgumentHelp(
        "BFCL with --model: how functions enter the <tools> block.",
        discussion: "bfcl: as BFCL's QwenFCHandler writes them (each function's own JSON, json.dumps with ASCII escapes); hf: as HF apply_chat_template(tools=) / vLLM render OpenAI-style tools ({\"type\": \"function\", \"function\": …}, non-ASCII kept)."))
    var toolStyle: ToolStyle = .bfcl

    /// How BFCL functions are written into the Qwen3 tool block.
    enum ToolStyle: String, ExpressibleByArgument, CaseIterable {
        case bfcl, hf
    }

    @Option(name: .long, help: "With --model: prompts generated together (left-padded into one batch; the outputs are those of one at a time).")
    var batch: Int = 1

    func validate() throws {
        guard maxNewTokens > 0 else { throw ValidationError("--max-new-tokens must be positive") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        guard ["cpu", "cuda", "auto"].contains(backend) else { throw ValidationError("--backend must be cpu, cuda or auto") }
    }
}

/// Generates predictions with a HuggingFace-format Qwen3 model folder (greedy, Qwen3 chat template).
struct ModelPredictionGenerator {
    let generator: GreedyGenerator
    let enableThinking: Bool
    let toolStyle: EvalGenerationOptions.ToolStyle
    let promptsPath: String?
    let batch: Int
    let progress: ProgressOptions
    /// The current run's meter (set by ``bfcl(dataset:directory:categories:limit:)`` / ``apiBank(items:)``).
    private let current = CurrentMeter()

    /// Holds the meter of the run in progress (the generator itself is an immutable value).
    private final class CurrentMeter { var meter: ProgressMeter? }

    /// Loads `DIR/config.json` + `model.safetensors` and the tokenizer on the chosen backend.
    init(modelDirectory: String, options: EvalGenerationOptions) throws {
        try options.validate()
        let dir = URL(fileURLWithPath: modelDirectory)
        let tokenizerPath = options.tokenizer ?? dir.appendingPathComponent("tokenizer.json").path
        guard FileManager.default.fileExists(atPath: tokenizerPath) else {
            throw ValidationError("no tokenizer at \(tokenizerPath): pass --tokenizer PATH (tokenizer.json of the model)")
        }
        let codec = try QwenCodec(path: tokenizerPath)
        let backend = try TrainBackendOption.make(options.backend) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let model = try Qwen3Model.load(directory: dir, backend: backend)
        generator = try GreedyGenerator(model: model, codec: codec, maxNewTokens: options.maxNewTokens)
        enableThinking = !options.noThinking
        toolStyle = options.toolStyle
        promptsPath = options.writePrompts
        batch = options.batch
        progress = options.progress
        log("model: \(modelDirectory) (\(model.weights.scalarCount) parameters, vocab \(model.config.vocabSize)); tokenizer: \(tokenizerPath); greedy, ≤ \(options.maxNewTokens) new tokens, batch \(options.batch), \(backend.name)")
    }

    /// The prompt of one BFCL entry, as BFCL's `QwenFCHandler` builds it: the functions in the
    /// Qwen tool block (style `bfcl`: each function's JSON as `json.dumps` writes it; `hf`:
    /// OpenAI-style tool objects as HF/vLLM render `tools=`) and the first turn's messages (the
    /// only turn of the AST categories). BFCL's FC handlers add no language hints to the functions.
    static func bfclPrompt(question: PyValue?, functions: [PyValue], enableThinking: Bool,
                           toolStyle: EvalGenerationOptions.ToolStyle) throws -> String {
        var messages: [ChatMessage] = []
        if let turn = question?.sequenceValue?.first {
            for m in turn.sequenceValue ?? [turn] {
                guard case .dict(let d) = m, let role = d["role"]?.stringValue, let content = d["content"]?.stringValue else {
                    throw ToolEvalError.unavailable("BFCL question message is not {role, content}: \(m.pyRepr)")
                }
                messages.append(ChatMessage(role: role, content: content))
            }
        }
        guard !messages.isEmpty else { throw ToolEvalError.unavailable("BFCL entry has no question messages") }
        switch toolStyle {
        case .bfcl:
            return Qwen3ChatTemplate.render(messages: messages, tools: functions.map(\.json), enableThinking: enableThinking,
                                            asciiToolJSON: true)
        case .hf:
            return Qwen3ChatTemplate.render(messages: messages, tools: functions.map { Qwen3ChatTemplate.openAITool($0.json) },
                                            enableThinking: enableThinking)
        }
    }

    /// The prompt of one API-Bank item: its own system and user text, as ToolRL's
    /// `generate.py` passes them to `apply_chat_template` (no `tools=`: the system text lists them).
    static func apiBankPrompt(_ item: APIBankItem, enableThinking: Bool) -> String {
        Qwen3ChatTemplate.render(messages: [ChatMessage(role: "system", content: item.system),
                                            ChatMessage(role: "user", content: item.user)],
                                 enableThinking: enableThinking)
    }

    /// Generates text for the first `limit` entries of each category; returns the predictions
    /// (the answer after any `</think>`, as BFCL's Qwen handlers store `model_responses`) and the
    /// ids generated, in data order.
    func bfcl(dataset: BFCLDataset, directory: String, categories: [String], limit: Int?) throws -> ([String: Prediction], [String]) {
        var predictions: [String: Prediction] = [:]
        var ids: [String] = [], prompts: [String] = []
        let total = categories.reduce(0) { n, c in n + min(dataset.order[c]?.count ?? 0, limit ?? .max) }
        start(progress.meter("eval bfcl", total: total, unit: .items("items")))
        defer { finish() }
        for category in categories {
            // BFCLDataset keeps functions and answers only; the questions are read here.
            var questions: [String: PyValue] = [:]
            for (_, obj) in try readJSONLines("\(directory)/BFCL_v4_\(category).json") {
                if let id = obj["id"]?.stringValue { questions[id] = obj["question"] }
            }
            var chosen = dataset.order[category] ?? []
            if let limit { chosen = Array(chosen.prefix(limit)) }
            for id in chosen {
                guard let entry = dataset.entries[id] else { continue }
                prompts.append(try Self.bfclPrompt(question: questions[id], functions: entry.functions,
                                                   enableThinking: enableThinking, toolStyle: toolStyle))
                ids.append(id)
            }
        }
        for (id, text) in zip(ids, try generate(prompts, ids: ids)) { predictions[id] = .raw(Qwen3ChatTemplate.stripReasoning(text)) }
        return (predictions, ids)
    }

    /// Generates raw text for API-Bank `items` (kept whole: the scorer reads the last `<tool_call>` block).
    func apiBank(items: [APIBankItem]) throws -> [String: Prediction] {
        var predictions: [String: Prediction] = [:]
        start(progress.meter("eval apibank", total: items.count, unit: .items("items")))
        defer { finish() }
        let texts = try generate(items.map { Self.apiBankPrompt($0, enableThinking: enableThinking) }, ids: items.map(\.key))
        for (item, text) in zip(items, texts) { predictions[item.key] = .raw(text) }
        return predictions
    }

    /// Generates every prompt, `batch` at a time; texts in the prompts' order.
    private func generate(_ prompts: [String], ids: [String]) throws -> [String] {
        if let promptsPath {
            for (i, (id, prompt)) in zip(ids, prompts).enumerated() {
                let line = PyJSON.dumps(.object(JSONObject([("id", .string(id)), ("prompt", .string(prompt))])), ensureASCII: false) + "\n"
                try appendLine(line, to: promptsPath, truncate: i == 0)
            }
        }
        var texts: [String] = []
        for first in stride(from: 0, to: prompts.count, by: batch) {
            let range = first..<min(first + batch, prompts.count)
            let start = Date()
            let generations = try generator.generate(prompts: Array(prompts[range]))
            let seconds = Date().timeIntervalSince(start)
            for (i, g) in zip(range, generations) {
                let reason = if case .stop = g.finish { "stop" } else { "length" }
                let timing = range.count == 1 ? String(format: "in %.2f s", seconds) : String(format: "in a batch of %d, %.2f s", range.count, seconds)
                log(String(format: "[%d] %@: %d prompt + %d new tokens (%@) %@", i + 1, ids[i], g.promptTokens, g.ids.count, reason, timing))
                current.meter?.advance()
                texts.append(g.text)
            }
        }
        return texts
    }

    private func start(_ m: ProgressMeter) { current.meter = m }
    private func finish() { current.meter?.finish(); current.meter = nil }

    private func appendLine(_ line: String, to path: String, truncate: Bool) throws {
        if truncate || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw ToolEvalError.unavailable("cannot write \(path)") }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw ToolEvalError.unavailable("cannot write \(path)") }
        defer { try? h.close() }
        h.seekToEndOfFile()
        h.write(Data(line.utf8))
    }

    /// A line on stderr, above the bar when one is drawn; nothing with `--quiet`.
    private func log(_ line: String) {
        if let m = current.meter { m.message(line); return }
        if !progress.quiet { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}

/// Keeps only the results of `ids` (a `--limit` run) and recounts each group over them.
func restrict(_ run: EvalRun, to ids: Set<String>) -> EvalRun {
    var run = run
    run.items = run.items.filter { ids.contains($0.id) }
    for g in run.groups.indices {
        let mine = run.items.filter { $0.group == run.groups[g].name }
        run.groups[g].total = mine.count
        run.groups[g].correct = mine.filter(\.valid).count
    }
    run.groups = run.groups.filter { $0.total > 0 }
    return run
}
