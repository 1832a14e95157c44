import ArgumentParser
import Console
import Foundation
import Sidecar
import Synchronization
import Wire

/// Set by SIGINT in `top`'s live view, so the terminal is restored before exiting.
private let topInterrupted = Atomic<Int>(0)

/// `rest-shaper top --endpoint E`: a live view of a running sidecar, refreshed every second from
/// `stats` (protocol/PROTOCOL.md): shape requests/s and tokens/s over the last second and minute,
/// p50/p99 compute time and latency, queue depth and in-flight, errors by code, the last batches'
/// per-region token share / mean weight / mean entropy, the entropy curriculum's progress and γ's,
/// and the acknowledgement counters when the server has them. `q` quits; `--once` prints one snapshot.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Live view of a running sidecar (from its stats, refreshed every second).",
        discussion: """
        On a terminal the screen is redrawn in place until q (or Ctrl-C). With --once, one snapshot \
        is printed and the command exits (non-zero when the server does not answer). When stdout is \
        not a terminal, a snapshot is appended every interval.
        """)

    @Option(help: "The sidecar's endpoint.") var endpoint = SidecarConfig.defaultEndpoint
    @Flag(help: "Print one snapshot and exit.") var once = false
    @Option(help: "Seconds between refreshes.") var interval: Double = 1
    @Option(help: "How long to wait for each reply, in milliseconds.") var timeoutMs = 2000
    @Option(help: "The server's CURVE public key (40 Z85 characters) for a CURVE-encrypted endpoint.") var curveServerKey: String?

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 s") }
        guard timeoutMs >= 1 else { throw ValidationError("--timeout-ms must be positive") }
    }

    func run() throws {
        let poller = try StatsPoller(endpoint: endpoint, timeoutMillis: timeoutMs, curveServerKey: curveServerKey)
        let out = FileDescriptorStream.standardOutput
        if once {
            let version = try? poller.version()
            let snap: TopSnapshot
            do { snap = try poller.snapshot() } catch {
                FileDescriptorStream.standardError.write("rest-shaper top: \(endpoint): \(error)\n")
                throw ExitCode(1)
            }
            let width = out.isTerminal ? out.columns : 120
            out.write(TopScreen.render(snap, endpoint: endpoint, version: version, width: width).joined(separator: "\n") + "\n")
            return
        }
        if !out.isTerminal {
            // A log of snapshots, one every interval, until the process is stopped.
            var version: String?
            while true {
                if version == nil { version = try? poller.version() }
                let text = (try? poller.snapshot()).map {
                    TopScreen.render($0, endpoint: endpoint, version: version, width: 120).joined(separator: "\n")
                } ?? "\(endpoint): no reply within \(timeoutMs) ms"
                out.write(text + "\n\n")
                usleep(UInt32(clamping: Int(interval * 1e6)))
            }
        }
        try live(poller, out)
    }

    /// The full-screen view: the alternate screen, redrawn every interval, `q` or Ctrl-C to quit.
    private func live(_ poller: StatsPoller, _ out: FileDescriptorStream) throws {
        signal(SIGINT) { _ in topInterrupted.store(1, ordering: .relaxed) }
        let keys = KeyReader()
        out.write("\u{1B}[?1049h\u{1B}[?25l")  // alternate screen, cursor hidden
        defer {
            keys.restore()
            out.write("\u{1B}[?25h\u{1B}[?1049l")
        }
        var version: String?
        var lastError: String?
        while topInterrupted.load(ordering: .relaxed) == 0 {
            if version == nil { version = try? poller.version() }
            var lines: [String]
            do {
                let snap = try poller.snapshot()
                lines = TopScreen.render(snap, endpoint: endpoint, version: version, width: out.columns - 1)
                lastError = nil
            } catch {
                lastError = "\(error)"
                lines = ["rest-shaper top · \(endpoint)", "", "waiting for the server: \(lastError ?? "")"]
            }
            let rows = Terminal.rows(1) ?? 40
            lines = Array(lines.prefix(max(1, rows - 2)))
            lines.append("")
            lines.append("q quits · every \(interval) s")
            out.write("\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J")
            // Wait out the interval, answering keys at once.
            let deadline = Terminal.monotonicSeconds() + interval
            while topInterrupted.load(ordering: .relaxed) == 0 {
                let left = deadline - Terminal.monotonicSeconds()
                if left <= 0 { break }
                if let k = keys.key(timeoutMillis: Int(left * 1000) + 1), k == UInt8(ascii: "q") || k == UInt8(ascii: "Q") { return }
            }
        }
    }
}

/// Sends `stats` (and once `ping`) to a sidecar and reads the replies, skipping late replies to
/// earlier requests (a DEALER keeps them after a time-out).
final class StatsPoller {
    private let client: SidecarClient
    private var nextID = 1

    init(endpoint: String, timeoutMillis: Int, curveServerKey: String?) throws {
        client = try SidecarClient(endpoint: endpoint, timeoutMillis: timeoutMillis, curveServerKey: curveServerKey)
    }

    func snapshot() throws -> TopSnapshot { TopSnapshot(try request("stats")) }

    /// The server's version string from `ping`.
    func version() throws -> String? { try request("ping").server?.version }

    private func request(_ op: String) throws -> ReplyHeader {
        let id = nextID; nextID += 1
        client.send([Array(#"{"v":1,"op":"\#(op)","id":\#(id)}"#.utf8)])
        while true {
            let frames = try client.receive()
            guard let first = frames.first else { continue }
            let h = try first.withUnsafeBytes { try ReplyHeader.decode($0, frameCount: frames.count) }
            guard h.id == id else { continue }  // a late reply to an earlier request
            if let e = h.error { throw e }
            return h
        }
    }
}
