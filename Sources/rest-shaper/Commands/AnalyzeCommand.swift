import Analysis
import ArgumentParser
import Foundation

/// `rest-shaper analyze RUN…`: per-region entropy over steps, the entropy–gradient-variance
/// correlation (Pearson, Spearman, block-bootstrap intervals) and reward curves with seed bands,
/// from metrics JSONL files (the fallback trainer's, TRL's, or a VERL log exported as JSONL; the
/// keys read are listed in docs/STUDY.md). Runs whose names differ only by a `-seedN` suffix form
/// one group.
struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Entropy–stability analysis of training runs' metrics JSONL (table, --json, --html).")

    @Argument(help: "Metrics JSONL files, or run folders holding metrics.jsonl.") var runs: [String]
    @Option(help: "Reward threshold for 'steps to threshold'.") var threshold: Double?
    @Option(help: "Final reward = mean reward of the last N steps.") var finalWindow = 25
    @Option(help: "Moving-average window (steps) for curves and the threshold crossing.") var smooth = 10
    @Option(help: "Bootstrap resamples for the correlation intervals (0 = none).") var resamples = 2000
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 17
    @Flag(help: "Print the report as JSON instead of the table.") var json = false
    @Option(help: "Write a self-contained HTML report (inline SVG plots) to this file.") var html: String?
    @Option(help: "Also write every figure as DIR/<id>.svg.") var svgDir: String?
    @Flag(help: "Include every run's own correlation rows in the table (always in --json and --html).") var perRun = false

    func run() async throws {
        let options = AnalysisOptions(threshold: threshold, finalWindow: finalWindow, smooth: smooth, resamples: resamples, seed: seed)
        let series = try runs.map { RunSeries(try RunLog.load(path: $0)) }
        let report = try Analyzer.analyze(series, options: options)
        if json {
            FileHandle.standardOutput.write(try ReportRendering.json(report) + Data("\n".utf8))
        } else {
            print(ReportRendering.text(report, perRun: perRun), terminator: "")
        }
        if let html {
            do { try Data(ReportRendering.html(report, series: series).utf8).write(to: URL(fileURLWithPath: html)) } catch {
                throw AnalysisError.io("cannot write \(html): \(error.localizedDescription)")
            }
            FileHandle.standardError.write(Data("wrote \(html)\n".utf8))
        }
        if let svgDir {
            let dir = URL(fileURLWithPath: svgDir)
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                for f in ReportRendering.figures(report, series: series) {
                    try Data(f.svg.utf8).write(to: dir.appendingPathComponent(f.id + ".svg"))
                }
            } catch { throw AnalysisError.io("cannot write figures to \(svgDir): \(error.localizedDescription)") }
        }
    }
}
