import Foundation
import Synchronization

/// A person's view of one long loop (`train`, `replay`, `shape`, `bench`, `eval --model`,
/// `conformance`): the count done, the rate and the time left, on stderr.
///
/// - On a terminal (``Mode/bar``) one line is redrawn in place (at most ten times a second):
///   `label [██████······] 120/310 39% 2.4 steps/s ETA 1:19 · note`, cut to the terminal's width.
/// - Elsewhere (``Mode/lines``: CI, a log file) plain lines: none in the first two seconds (a quick
///   command leaves no noise), then one at the next update, then every `lineEveryItems` items or
///   `lineEverySeconds` seconds, whichever comes first, and one at the end.
/// - ``Mode/off`` (`--quiet`) writes nothing at all, report lines included.
///
/// Library modules never render: they take a callback, and the CLI turns it into calls on a
/// `ProgressMeter`. Thread-safe (one lock), so a worker pool may advance it.
public final class ProgressMeter: Sendable {
    /// How progress is shown.
    public enum Mode: Sendable, Equatable {
        case bar, lines, off

        /// `off` when quiet, a bar on a terminal, plain lines otherwise.
        public static func automatic(quiet: Bool, stream: any ConsoleStream) -> Mode {
            quiet ? .off : (stream.isTerminal ? .bar : .lines)
        }
    }

    /// What is counted.
    public enum Unit: Sendable, Equatable {
        /// Items with a plural name (`steps`, `rows`, `cases`).
        case items(String)
        /// Bytes (shown in KiB/MiB/GiB).
        case bytes
    }

    private struct State {
        var done = 0
        var note = ""
        var lastDraw = -Double.infinity
        var lastLine: Double
        var lastLineDone = 0
        var linesWritten = 0
        var finished = false
        /// (time, done) samples of the last ``recentSeconds``, oldest first, for the ETA.
        var samples: [(Double, Int)] = []

        /// Items per second over the recent samples (nil until they span a second).
        func recentRate(now: Double) -> Double? {
            guard let first = samples.first, now - first.0 >= 1, done > first.1 else { return nil }
            return Double(done - first.1) / (now - first.0)
        }
    }

    /// The ETA follows the rate of the last this many seconds, so a fast start (a warm-up) does not
    /// promise an early end.
    static let recentSeconds = 30.0

    public let label: String
    public let total: Int?
    public let unit: Unit
    public let mode: Mode
    let stream: any ConsoleStream
    let lineEveryItems: Int?
    let lineEverySeconds: Double
    /// In ``Mode/lines``, nothing is written before this many seconds (a quick command leaves no noise in a log).
    let lineGraceSeconds: Double
    let clock: @Sendable () -> Double
    let start: Double
    private let state: Mutex<State>

    /// - Parameters:
    ///   - total: items (or bytes) expected; nil when unknown (no bar, no ETA).
    ///   - quiet: `--quiet`: nothing is written.
    ///   - mode: overrides the automatic choice (tests).
    ///   - lineEveryItems: in ``Mode/lines``, a line at least every this many items (default: a tenth of `total`).
    ///   - lineEverySeconds: in ``Mode/lines``, a line at least every this many seconds.
    public init(_ label: String, total: Int?, unit: Unit = .items("items"), quiet: Bool = false, mode: Mode? = nil,
                stream: any ConsoleStream = FileDescriptorStream.standardError,
                lineEveryItems: Int? = nil, lineEverySeconds: Double = 10, lineGraceSeconds: Double = 2,
                clock: @escaping @Sendable () -> Double = Terminal.monotonicSeconds) {
        self.label = label
        self.total = total.map { max($0, 0) }
        self.unit = unit
        self.mode = mode ?? .automatic(quiet: quiet, stream: stream)
        self.stream = stream
        self.lineEveryItems = lineEveryItems ?? total.map { max(1, $0 / 10) }
        self.lineEverySeconds = lineEverySeconds
        self.lineGraceSeconds = lineGraceSeconds
        self.clock = clock
        start = clock()
        state = Mutex(State(lastLine: start, samples: [(start, 0)]))
        if self.mode == .bar { redraw(force: true) }
    }

    /// Sets the count done (and the note shown after the numbers).
    public func update(_ done: Int, note: String? = nil) {
        change(note: note) { $0 = max(0, done) }
    }

    /// Adds `n` to the count done.
    public func advance(by n: Int = 1, note: String? = nil) {
        change(note: note) { $0 += n }
    }

    private func change(note: String?, _ f: (inout Int) -> Void) {
        guard mode != .off else { return }
        let line: String? = state.withLock { s in
            f(&s.done)
            if let note { s.note = note }
            let t = clock()
            if s.samples.last.map({ t - $0.0 >= 0.5 }) ?? true { s.samples.append((t, s.done)) }  // ≤ 2 a second
            if let k = s.samples.firstIndex(where: { t - $0.0 <= Self.recentSeconds }), k > 1 { s.samples.removeFirst(k - 1) }
            guard mode == .lines else { return nil }
            let now = clock()
            guard now - start >= lineGraceSeconds else { return nil }  // short runs stay silent in logs
            if let total, s.done >= total { return nil }  // the closing line says it
            let first = s.linesWritten == 0 && s.done > 0  // then the first update shows the rate early
            let byItems = lineEveryItems.map { s.done - s.lastLineDone >= $0 } ?? false
            guard first || byItems || now - s.lastLine >= lineEverySeconds else { return nil }
            s.lastLine = now; s.lastLineDone = s.done; s.linesWritten += 1
            return render(s, now: now, width: nil)
        }
        if let line { stream.write(line + "\n") } else if mode == .bar { redraw(force: false) }
    }

    /// A line of its own (a report line, a per-item line), kept above the bar on a terminal.
    public func message(_ line: String) {
        switch mode {
        case .off: return
        case .lines: stream.write(line + "\n")
        case .bar:
            stream.write("\r\u{1B}[K" + line + "\n")
            redraw(force: true)
        }
    }

    /// Ends the display: the bar's final state stays on its line; in ``Mode/lines`` a closing line.
    public func finish(note: String? = nil) {
        guard mode != .off else { return }
        let text: String? = state.withLock { s in
            guard !s.finished else { return nil }
            s.finished = true
            if let note { s.note = note }
            let now = clock()
            if mode == .lines && s.linesWritten == 0 && now - start < lineGraceSeconds { return nil }
            return render(s, now: now, width: mode == .bar ? stream.columns - 1 : nil)
        }
        guard let text else { return }
        stream.write(mode == .bar ? "\r" + text + "\u{1B}[K\n" : text + "\n")
    }

    /// The count done so far.
    public var done: Int { state.withLock { $0.done } }

    private func redraw(force: Bool) {
        let text: String? = state.withLock { s in
            guard !s.finished else { return nil }
            let now = clock()
            guard force || now - s.lastDraw >= 0.1 else { return nil }
            s.lastDraw = now
            return render(s, now: now, width: stream.columns - 1)
        }
        if let text { stream.write("\r" + text + "\u{1B}[K") }
    }

    /// `label [bar] done/total pct rate ETA · note`, cut to `width` characters.
    private func render(_ s: State, now: Double, width: Int?) -> String {
        let elapsed = max(now - start, 0)
        var parts: [String] = [label]
        if mode == .bar, let total, total > 0 {
            let cells = 20, filled = min(cells, s.done * cells / total)
            parts.append("[" + String(repeating: "█", count: filled) + String(repeating: "·", count: cells - filled) + "]")
        }
        if let total {
            parts.append("\(Self.amount(s.done, unit))/\(Self.amount(total, unit))")
            if total > 0 { parts.append("\(min(100, s.done * 100 / total))%") }
        } else {
            parts.append(Self.amount(s.done, unit))
        }
        let rate = elapsed > 0 ? Double(s.done) / elapsed : 0
        if s.done > 0 && elapsed > 0 { parts.append(Self.rate(rate, unit)) }
        if s.finished {
            parts.append("in " + Self.duration(elapsed))
        } else if let total, rate > 0, s.done < total {
            parts.append("ETA " + Self.duration(Double(total - s.done) / (s.recentRate(now: now) ?? rate)))
        }
        var line = parts.joined(separator: " ")
        if !s.note.isEmpty { line += " · " + s.note }
        if let width, width > 0, line.count > width { line = String(line.prefix(width)) }
        return line
    }

    // MARK: formatting

    /// `1:02:03`, `3:05`, `0:07`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "–" }
        let t = Int(min(seconds, 8_640_000).rounded())  // capped at 100 days
        let h = t / 3600, m = (t / 60) % 60, sec = t % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    static func amount(_ n: Int, _ unit: Unit) -> String {
        switch unit {
        case .items: return "\(n)"
        case .bytes: return bytes(Double(n))
        }
    }

    static func rate(_ r: Double, _ unit: Unit) -> String {
        switch unit {
        case .items(let name): return "\(compact(r)) \(name)/s"
        case .bytes: return bytes(r) + "/s"
        }
    }

    /// `532 B`, `12.3 KiB`, `4.0 MiB`, `1.2 GiB`.
    public static func bytes(_ b: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = b, i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(Int(v.rounded())) B" : String(format: "%.1f %@", v, units[i])
    }

    /// Three significant figures with k/M/G: `0.42`, `12.3`, `456`, `12.3k`, `4.56M`.
    public static func compact(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        if v == 0 { return "0" }
        let a = abs(v)
        let (x, suffix): (Double, String) = a >= 1e9 ? (v / 1e9, "G") : a >= 1e6 ? (v / 1e6, "M") : a >= 1e3 ? (v / 1e3, "k") : (v, "")
        let ax = abs(x)
        let digits = ax >= 100 ? 0 : ax >= 10 ? 1 : 2
        return String(format: "%.\(digits)f", x) + suffix
    }
}
