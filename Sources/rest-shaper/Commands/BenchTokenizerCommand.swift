import ArgumentParser
import Benchmarks
import Foundation
import Tokenization

/// `rest-shaper bench tokenizer`: encode with offsets and decode of rollout-like texts, on one
/// thread, against HF `tokenizers` (Python binding, one thread) on the same texts in the same
/// run: rounds alternate the two sides, each side reports the median of its passes, and the
/// medians over rounds are divided (`encode_ratio_vs_hf` = HF seconds / ours). Without
/// `tokenizers` the comparison is skipped with the reason (`skipped`) and only ours is printed.
struct BenchTokenizerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Benchmark encode+offsets and decode against HF tokenizers (JSON).")

    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken (converted for HF with the Qwen3 added tokens).") var tokenizer: String
    @Option(help: "Rollout texts.") var rollouts = 128
    @Option(help: "Tokens per rollout text.") var tokensPerRollout = 2048
    @Option(name: .customLong("repeat"), help: "Passes over the texts per round and side (the median is kept).") var repeats = 5
    @Option(help: "Rounds (each runs both sides, alternating which goes first).") var rounds = 3
    @Option(help: "Python with `tokenizers` (default: .venv/bin/python, else python3).") var python: String?
    @Option(help: "The HF side's script.") var hfScript = "examples/bench/hf_tokenizer.py"
    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard rollouts > 0, tokensPerRollout > 0, repeats > 0, rounds > 0 else { throw ValidationError("rollouts, tokens-per-rollout, repeat and rounds must be > 0") }
    }

    /// The HF script's JSON.
    struct HFResult: Codable {
        var tokenizers: String
        var tokens: Int
        var encode_seconds: Double
        var decode_seconds: Double
        var ids_checksum: UInt64
        var offsets_checksum: UInt64
    }

    /// What this command prints.
    struct Report: Encodable {
        var bench = "tokenizer"
        var rollouts: Int, tokens: Int, bytes: Int, rounds: Int, threads = 1
        var encode_seconds: Double, decode_seconds: Double
        var encode_mb_per_s: Double, decode_mb_per_s: Double
        var hf: HFResult?
        var hf_encode_seconds: Double?, hf_decode_seconds: Double?
        var encode_ratio_vs_hf: Double?, decode_ratio_vs_hf: Double?
        var ids_match: Bool?, offsets_match: Bool?
        var skipped: String?
        var cpu_model: String, cores: Int, load_average_1m: Double?
    }

    func run() async throws {
        let tok = try Tokenizer.load(path: tokenizer)
        let texts = try TokenizerBenchmark.rolloutTexts(tok, rollouts: rollouts, tokensPerRollout: tokensPerRollout)
        let py = ExternalBenchmark.python(python)
        var skipped: String? = nil
        if !FileManager.default.fileExists(atPath: hfScript) {
            skipped = "\(hfScript) not found (run from the repository root or pass --hf-script)"
        } else if !ExternalBenchmark.pythonHas(py, module: "tokenizers") {
            skipped = "HF tokenizers is not installed for \(py) (pip install tokenizers)"
        }
        if let skipped { FileHandle.standardError.write(Data("bench tokenizer: HF comparison skipped: \(skipped)\n".utf8)) }

        // The texts (and, for a tiktoken file, the added tokens) go to the HF side as JSON files.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rest-shaper-bench-tokenizer-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let textsURL = dir.appendingPathComponent("texts.json"), addedURL = dir.appendingPathComponent("added.json")
        try JSONEncoder().encode(texts).write(to: textsURL)
        try ExternalBenchmark.writeAddedTokens(of: tok, to: addedURL)
        let hfArgs = [hfScript, "--tokenizer", tokenizer, "--texts", textsURL.path, "--added-tokens", addedURL.path, "--repeat", "\(repeats)"]

        let meter = progress.meter("bench tokenizer", total: rounds, unit: .items("rounds"))
        var enc: [Double] = [], dec: [Double] = [], hf: [HFResult] = []
        var encodings: [Encoding] = []
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        func ours() throws {
            var e: [Double] = [], d: [Double] = []
            for _ in 0..<repeats {
                let t0 = clock.now
                encodings = texts.map { tok.encode($0) }          // ids, code point and byte offsets
                e.append(seconds(clock.now - t0))
                let t1 = clock.now
                for row in encodings { _ = try tok.decode(row.ids) }
                d.append(seconds(clock.now - t1))
            }
            enc.append(BenchMachine.median(e)!); dec.append(BenchMachine.median(d)!)
        }
        for r in 0..<rounds {
            if skipped == nil, r % 2 == 1 { hf.append(try ExternalBenchmark.runJSON(HFResult.self, executable: py, arguments: hfArgs)) }
            try ours()
            if skipped == nil, r % 2 == 0 { hf.append(try ExternalBenchmark.runJSON(HFResult.self, executable: py, arguments: hfArgs)) }
            meter.update(r + 1)
        }
        meter.finish()
        let tokens = encodings.reduce(0) { $0 + $1.ids.count }, bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let e = BenchMachine.median(enc)!, d = BenchMachine.median(dec)!
        var report = Report(rollouts: texts.count, tokens: tokens, bytes: bytes, rounds: rounds, encode_seconds: e, decode_seconds: d,
                            encode_mb_per_s: Double(bytes) / e / 1e6, decode_mb_per_s: Double(bytes) / d / 1e6,
                            skipped: skipped, cpu_model: BenchMachine.cpuModel, cores: BenchMachine.cores, load_average_1m: BenchMachine.loadAverage)
        if let last = hf.last {
            let he = BenchMachine.median(hf.map(\.encode_seconds))!, hd = BenchMachine.median(hf.map(\.decode_seconds))!
            let sums = TokenizerBenchmark.checksums(encodings)
            report.hf = last
            report.hf_encode_seconds = he; report.hf_decode_seconds = hd
            report.encode_ratio_vs_hf = he / e; report.decode_ratio_vs_hf = hd / d
            report.ids_match = sums.ids == last.ids_checksum && tokens == last.tokens
            report.offsets_match = sums.offsets == last.offsets_checksum
        }
        let out = JSONEncoder(); out.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileHandle.standardOutput.write(try out.encode(report) + Data("\n".utf8))
        if report.ids_match == false || report.offsets_match == false {
            throw ValidationError("the HF encodings differ from ours (ids_match \(report.ids_match!), offsets_match \(report.offsets_match!)): the ratio compares different work")
        }
    }
}
