import ArgumentParser
import Capture
import Console
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
    @OptionGroup var progress: ProgressOptions

    func run() throws {
        let tok = try Tokenizer.load(path: tokenizer)
        let shaping = try config.map { try ShapingConfig.fromJSON(String(contentsOfFile: $0, encoding: .utf8)) } ?? ShapingConfig()
        let engine = ShapingEngine(tokenizer: tok, config: shaping, threads: threads)
        let reader: CaptureReader
        do { reader = try CaptureReader(path: capture) } catch { throw ValidationError("\(error)") }
        var replayer = Replayer(shaper: engine, profile: profile, keepRollouts: html == nil ? 0 : maxRollouts)
        replayer.limits.vocabSize = tok.vocabSize
        let meter = progress.meter("replay", total: reader.fileSize, unit: .bytes)
        let report = replayer.run(reader) { done, _ in meter.update(done) }
        meter.finish(note: "\(report.records) records")

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
        if !report.turnRegions.isEmpty {
            print("per turn (\(report.multiTurnRollouts) multi-turn rollouts; \(report.observationTokens) observation tokens, in no statistic)")
            print("turn  region          tokens   mean_weight  mean_entropy")
            for (key, s) in report.turnRegions.sorted(by: { $0.key < $1.key }) {
                let name = CategoryNames.name(key.category).padding(toLength: 14, withPad: " ", startingAt: 0)
                let e = s.meanEntropy.map { String(format: "%12.4f", $0) } ?? "           –"
                print("\(String(format: "%4d", key.turn))  \(name) \(String(format: "%7d", s.tokens))  \(String(format: "%12.4f", s.meanWeight))  \(e)")
            }
            print("turn  rollouts  mean_turn_reward")
            for (k, t) in report.turns.sorted(by: { $0.key < $1.key }) {
                print("\(String(format: "%4d", k))  \(String(format: "%8d", t.rollouts))  \(String(format: "%16.4f", t.meanReward))")
            }
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
