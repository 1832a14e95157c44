import ArgumentParser
import Capture
import Foundation
import Pipeline
import Shaping
import Tokenization
import Wire

/// `rest-shaper replay`: recompute a capture file, diff it, summarise per region, draw a heat-map.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a capture file: recompute, diff, per-region statistics, HTML heat-map.",
        discussion: """
        Every complete record is replayed; a truncated or corrupt tail is reported (exit 2 with \
        --require-intact). With --diff, the differences are listed and the exit status is 1 if any.
        """)

    @Argument(help: "Capture file (.rscap) written by 'rest-shaper serve --capture'.") var capture: String
    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Replace each request's weight profile.") var profile: String?
    @Option(help: "Shaping/schedule configuration (JSON).") var config: String?
    @Flag(help: "List differences between the captured and the recomputed replies.") var diff = false
    @Option(help: "Write a self-contained HTML heat-map of token weights and categories.") var html: String?
    @Option(help: "Rollouts drawn in the heat-map.") var maxRollouts = 64
    @Option(help: "Threads the shaping core uses (0 = all cores).") var threads = 0
    @Flag(help: "Exit 2 when the capture has a truncated or corrupt tail.") var requireIntact = false

    func run() throws {
        let tok = try Tokenizer.load(path: tokenizer)
        let shaping = try config.map { try ShapingConfig.fromJSON(String(contentsOfFile: $0, encoding: .utf8)) } ?? ShapingConfig()
        let engine = ShapingEngine(tokenizer: tok, config: shaping, threads: threads)
        let reader: CaptureReader
        do { reader = try CaptureReader(path: capture) } catch { throw ValidationError("\(error)") }
        var replayer = Replayer(shaper: engine, profile: profile, keepRollouts: html == nil ? 0 : maxRollouts)
        replayer.limits.vocabSize = tok.vocabSize
        let bar = ProgressBar(total: reader.fileSize)
        let report = replayer.run(reader) { done, _ in bar.update(done) }
        bar.finish()

        print("capture: \(capture)")
        print("records: \(report.records) (" + report.byOp.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")")
        if !report.capturedErrors.isEmpty {
            print("captured errors: " + report.capturedErrors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                  + " (\(report.errorsReproduced) reproduced)")
        }
        print("shape replayed: \(report.shapeReplayed), identical: \(report.identical), different: \(report.different), max weight rel diff: \(report.maxWeightRelDiff)")
        print("tail: \(report.tail.map { "\($0) — the \(report.records) complete records before it were replayed" } ?? "intact")")
        print("region          tokens   mean_weight  mean_entropy")
        for (c, s) in report.regions.sorted(by: { $0.key < $1.key }) {
            let name = CategoryNames.name(c).padding(toLength: 14, withPad: " ", startingAt: 0)
            let e = s.meanEntropy.map { String(format: "%12.4f", $0) } ?? "           –"
            print("\(name) \(String(format: "%7d", s.tokens))  \(String(format: "%12.4f", s.meanWeight))  \(e)")
        }
        if diff {
            for line in report.differences { print("diff: \(line)") }
        }
        if let html {
            let page = HeatMap.render(report, title: "rest-shaper replay — \((capture as NSString).lastPathComponent)") { id in
                (try? tok.decode([id])) ?? "<\(id)>"
            }
            try page.write(toFile: html, atomically: true, encoding: .utf8)
            print("heat-map: \(html)")
        }
        if requireIntact && report.tail != nil { throw ExitCode(2) }
        if diff && report.different > 0 { throw ExitCode(1) }
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar {
    let total: Int
    let enabled = isatty(2) != 0
    private var last = -1

    init(total: Int) { self.total = max(total, 1) }

    func update(_ done: Int) {
        guard enabled else { return }
        let pct = min(100, done * 100 / total)
        guard pct != last else { return }
        last = pct
        let width = 40, filled = pct * width / 100
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(pct)%"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() { if enabled && last >= 0 { FileHandle.standardError.write(Data("\n".utf8)) } }
}
