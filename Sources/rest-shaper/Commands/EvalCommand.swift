import ArgumentParser
import Foundation
import Trainer
import PyJSON
import ToolEval

/// `rest-shaper eval bfcl|apibank`: score predictions with the official checkers' semantics.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate predictions on BFCL v3 (AST categories) or API-Bank.",
        discussion: """
        Predictions file: JSON lines, one record per item.
          BFCL      {"id": "simple_python_0", "result": ...}
                    result = raw model text, decoded with --format
                    (prompt: [f(a=1)], qwen-fc: <tool_call> JSON blocks,
                    toolrl: last <tool_call> block, one call per line),
                    or already-decoded calls [{"f": {"a": 1}}]
                    (Python tuples as {"__tuple__": [...]}).
          API-Bank  {"key": "Level1_0", "result": "<raw model text>"}
        Items without a prediction count as wrong (missing_prediction).
        --oracle scores "first possible answer" predictions built from the
        ground truth (the official outcome on the data itself, e.g.
        simple_python 399/400, live_multiple 1048/1053); --write-predictions
        saves the predictions that were scored.
        --model DIR generates the predictions with a Qwen3-architecture model
        folder (HF config.json + model.safetensors, e.g. a fallback-trainer
        checkpoint; tokenizer DIR/tokenizer.json or --tokenizer): Qwen3 chat
        template (BFCL: functions in the <tools> block as BFCL's QwenFCHandler
        writes them, --tool-style; API-Bank: the items' own system/user
        text), greedy decoding with the KV cache until <|im_end|> or
        <|endoftext|> (--max-new-tokens), on the CPU or --backend cuda;
        --batch N decodes N prompts together (left-padded and masked: the
        same outputs as one at a time); --limit N generates only
        the first N items of each category / level and scores those. BFCL
        keeps the text after any </think>, as BFCL's Qwen handlers do. The
        generations are scored exactly as --predictions scores them (BFCL
        decoded with --format, qwen-fc by default for --model), and
        --write-predictions saves them as a predictions file.
        """,
        subcommands: [EvalBFCLCommand.self, EvalAPIBankCommand.self]
    )
}

/// Options shared by both benchmarks.
struct EvalCommonOptions: ParsableArguments {
    @Option(name: .long, help: "Predictions file (JSON lines; see `rest-shaper eval --help`).")
    var predictions: String?

    @Flag(name: .long, help: "Score first-possible-answer predictions built from the ground truth.")
    var oracle = false

    @Option(name: .long, help: "Write the predictions that were scored (e.g. the --oracle ones) to this JSON-lines file.")
    var writePredictions: String?

    @Option(name: .long, help: ArgumentHelp("Generate the predictions greedily with the Qwen3 model folder DIR (config.json + model.safetensors).", valueName: "dir"))
    var model: String?

    @OptionGroup var generation: EvalGenerationOptions

    @Flag(name: .long, help: "Print the result as JSON instead of a table.")
    var json = false

    @Option(name: .long, help: "Write a self-contained HTML report with per-item verdicts and error types.")
    var report: String?

    func validateSource() throws {
        if [predictions != nil, oracle, model != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --predictions FILE, --oracle or --model DIR")
        }
        if model == nil, generation.limit != nil { throw ValidationError("--limit needs --model") }
    }

    func emit(_ run: EvalRun, title: String, elapsed: Double) throws {
        if json {
            print(EvalReport.json(run, elapsedSeconds: elapsed))
        } else {
            print(EvalReport.table(run))
            print(String(format: "scored %d items in %.3f s", run.items.count, elapsed))
        }
        if let report {
            try EvalReport.html(run, title: title, elapsedSeconds: elapsed).write(toFile: report, atomically: true, encoding: .utf8)
            if !json { print("report: \(report)") }
        }
    }
}

/// Writes predictions as JSON lines (`idKey`, `result`).
func writePredictions(_ predictions: [String: Prediction], order: [String], idKey: String, to path: String) throws {
    var out = ""
    for id in order {
        guard let p = predictions[id] else { continue }
        let result: JSONValue
        switch p {
        case .raw(let s): result = .string(s)
        case .decoded(let v): result = v.json
        }
        out += PyJSON.dumps(.object(JSONObject([(idKey, .string(id)), ("result", result)])), ensureASCII: false) + "\n"
    }
    try out.write(toFile: path, atomically: true, encoding: .utf8)
}

struct EvalBFCLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bfcl", abstract: "BFCL v3 AST categories.")

    @OptionGroup var common: EvalCommonOptions

    @Option(name: .long, help: "Categories to score (comma-separated or repeated). Default: every category with a prediction (all with --oracle or --model).")
    var category: [String] = []

    @Option(name: .long, help: "BFCL data directory (BFCL_v4_<category>.json + possible_answer/). Default: $RESTSHAPER_BFCL_DIR or ./data/bfcl.")
    var data: String?

    @Option(name: .long, help: "How raw text is decoded: prompt, qwen-fc or toolrl. Default: qwen-fc with --model, else prompt.")
    var format: String?

    @Flag(name: .long, help: "The model's function names had '.' replaced by '_' (FC models with underscore_to_dot).")
    var underscoreToDot = false

    func run() async throws {
        try common.validateSource()
        if common.model != nil { _ = BLASCore.processOutcome }  // before any work: it may re-execute the process
        let formatName = format ?? (common.model != nil ? BFCLOutputFormat.qwenFC : .prompt).rawValue
        guard let outputFormat = BFCLOutputFormat(rawValue: formatName) else {
            throw ValidationError("unknown --format '\(formatName)' (prompt, qwen-fc, toolrl)")
        }
        let directory = data ?? ProcessInfo.processInfo.environment["RESTSHAPER_BFCL_DIR"] ?? "data/bfcl"
        var categories = category.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        for c in categories where !BFCLCategory.all.contains(c) { throw ToolEvalError.unknownCategory(c) }

        let start = Date()
        var predictions: [String: Prediction] = [:]
        if let path = common.predictions {
            predictions = try BFCLRunner.readPredictions(path)
            if categories.isEmpty {
                let present = Set(predictions.keys.compactMap(BFCLCategory.of(id:)))
                categories = BFCLCategory.all.filter(present.contains)
            }
        } else if categories.isEmpty {
            categories = BFCLCategory.all
        }
        let dataset = try BFCLDataset.load(directory: directory, categories: categories)
        if common.oracle { predictions = BFCLOracle.predictions(dataset: dataset, categories: categories) }
        var generated: [String]? = nil
        if let model = common.model {
            let generator = try ModelPredictionGenerator(modelDirectory: model, options: common.generation)
            (predictions, generated) = try generator.bfcl(dataset: dataset, directory: directory, categories: categories,
                                                          limit: common.generation.limit)
        }
        var run = BFCLRunner.run(dataset: dataset, predictions: predictions, categories: categories,
                                 format: outputFormat, underscoreToDot: underscoreToDot)
        if let generated, common.generation.limit != nil { run = restrict(run, to: Set(generated)) }
        let elapsed = Date().timeIntervalSince(start)
        if let path = common.writePredictions {
            try writePredictions(predictions, order: generated ?? categories.flatMap { dataset.order[$0] ?? [] }, idKey: "id", to: path)
        }
        try common.emit(run, title: "BFCL v3 (AST) evaluation", elapsed: elapsed)
    }
}

struct EvalAPIBankCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apibank", abstract: "API-Bank levels 1-3 (ToolRL rules).")

    @OptionGroup var common: EvalCommonOptions

    @Option(name: .long, help: "API-Bank data directory (level-1.jsonl … level-3.jsonl). Default: $RESTSHAPER_APIBANK_DIR or ./data/apibank.")
    var data: String?

    @Option(name: .long, help: "Levels to score (1, 2, 3; comma-separated or repeated). Default: all.")
    var level: [String] = []

    func run() async throws {
        try common.validateSource()
        if common.model != nil { _ = BLASCore.processOutcome }  // before any work: it may re-execute the process
        let directory = data ?? ProcessInfo.processInfo.environment["RESTSHAPER_APIBANK_DIR"] ?? "data/apibank"
        let levels = Set(level.flatMap { $0.split(separator: ",") }.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        let start = Date()
        var items = try APIBankScorer.load(directory: directory)
        if !levels.isEmpty { items = items.filter { levels.contains($0.level) } }
        let predictions: [String: Prediction]
        if let model = common.model {
            if let limit = common.generation.limit {
                var seen: [Int: Int] = [:]
                items = items.filter { seen[$0.level, default: 0] += 1; return seen[$0.level]! <= limit }
            }
            let generator = try ModelPredictionGenerator(modelDirectory: model, options: common.generation)
            predictions = try generator.apiBank(items: items)
        } else if common.oracle {
            predictions = APIBankRunner.oraclePredictions(items: items)
        } else {
            predictions = try BFCLRunner.readPredictions(common.predictions ?? "", idKeys: ["key", "id"])
        }
        let run = APIBankRunner.run(items: items, predictions: predictions)
        let elapsed = Date().timeIntervalSince(start)
        if let path = common.writePredictions {
            try writePredictions(predictions, order: items.map(\.key), idKey: "key", to: path)
        }
        try common.emit(run, title: "API-Bank evaluation", elapsed: elapsed)
    }
}
