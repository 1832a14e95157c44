import Capture
import Console
import Foundation
import Wire

/// One `stats` reply as `top` reads it.
struct TopSnapshot {
    /// The counters in the server's order.
    var counters: [Named<Int>]
    /// The last batches' metrics (nil before the first shape request, or from an older server).
    var metrics: WireMetrics?

    subscript(_ name: String) -> Int? { counters.first { $0.name == name }?.value }

    init(_ reply: ReplyHeader) {
        counters = reply.stats ?? []
        metrics = reply.metrics
    }
}

/// The text of `rest-shaper top`: a pure function of the snapshot, so `--once` and the live
/// view are the same screen. Every counter of `stats` appears somewhere on it.
enum TopScreen {
    /// The acknowledgement counters (issue 13), shown when the server has them.
    static let ackCounters = [("applied_ok", "applied ok"), ("applied_mismatch", "mismatch"),
                              ("applied_unknown", "unknown"), ("shape_unacknowledged", "unacknowledged")]

    static func render(_ s: TopSnapshot, endpoint: String, version: String?, width: Int) -> [String] {
        var shown: Set<String> = []
        func v(_ name: String) -> Int? { shown.insert(name); return s[name] }
        func n(_ name: String) -> String { v(name).map(String.init) ?? "–" }
        var lines: [String] = []

        var head = ["rest-shaper top", endpoint]
        if let version { head.append(version) }
        if let up = v("uptime_s") { head.append("up " + ProgressMeter.duration(Double(up))) }
        lines.append(head.joined(separator: " · "))
        lines.append("")

        // Rates: the server's whole-second counts (last second, last minute).
        let window = v("rate_window_s") ?? 0
        func perSecond(_ last1: String, _ last60: String) -> (String, String) {
            let a = v(last1).map { ProgressMeter.compact(Double($0)) } ?? "–"
            let b = v(last60).map { window > 0 ? ProgressMeter.compact(Double($0) / Double(window)) : "0" } ?? "–"
            return (a, b)
        }
        let req = perSecond("shape_requests_last_1s", "shape_requests_last_60s")
        let tok = perSecond("tokens_last_1s", "tokens_last_60s")
        lines.append(pad("", 14) + pad("1 s", 10) + pad(window >= 60 || window == 0 ? "1 min" : "\(window) s", 10) + "total")
        // Every other op (ping, stats, applied, …) in the server's order.
        let ops = s.counters.filter { $0.name.hasPrefix("requests_") && $0.name != "requests_total" && $0.name != "requests_shape" }
        for o in ops { shown.insert(o.name) }
        let others = ops.map { "\($0.name.dropFirst(9)) \($0.value)" }.joined(separator: ", ")
        lines.append(pad("requests/s", 14) + pad(req.0, 10) + pad(req.1, 10)
                     + "\(n("requests_shape")) shape · \(n("requests_total")) all" + (others.isEmpty ? "" : " (\(others))"))
        lines.append(pad("tokens/s", 14) + pad(tok.0, 10) + pad(tok.1, 10) + "\(n("tokens_total")) tokens · \(n("rollouts_total")) rollouts")
        lines.append(pad("compute", 14) + "p50 \(ms(v("compute_us_p50")))  p99 \(ms(v("compute_us_p99")))  "
                     + "(last \(n("quantile_samples")) shape requests; \(ms(v("compute_us_total"))) in all)")
        lines.append(pad("latency", 14) + "p50 \(ms(v("latency_us_p50")))  p99 \(ms(v("latency_us_p99")))  (receipt to reply)")
        lines.append(pad("queue", 14) + "depth \(n("queue_depth")) · in flight \(n("in_flight")) · workers \(n("workers"))")

        let codes = s.counters.filter { $0.name.hasPrefix("errors_") }
        for c in codes { shown.insert(c.name) }
        let failing = codes.filter { $0.value > 0 }
        let errors = failing.isEmpty ? "errors 0"
            : "errors \(failing.reduce(0) { $0 + $1.value }) (" + failing.map { "\($0.name.dropFirst(7)) \($0.value)" }.joined(separator: ", ") + ")"
        lines.append(pad("replies", 14) + "ok \(n("replies_ok")) · \(errors)")
        lines.append(pad("bytes", 14) + "in \(v("bytes_in_total").map { ProgressMeter.bytes(Double($0)) } ?? "–") · out \(v("bytes_out_total").map { ProgressMeter.bytes(Double($0)) } ?? "–")")
        if ackCounters.contains(where: { s[$0.0] != nil }) {
            lines.append(pad("acks", 14) + ackCounters.compactMap { key, label in v(key).map { "\(label) \($0)" } }.joined(separator: " · "))
        }

        if s["http_requests_total"] != nil {
            lines.append(pad("http", 14) + "requests \(n("http_requests_total")) · errors \(n("http_errors_total")) · rows \(n("http_rows_total"))")
        }

        lines.append("")
        if let m = s.metrics {
            let batches = v("metrics_batches")
            lines.append(pad("region", 16) + pad("share", 10) + pad("weight", 10) + "entropy"
                         + (batches.map { "      (last \($0) batches)" } ?? ""))
            let total = max(1, m.tokenCounts.reduce(0) { $0 + $1.value })
            let weights = Dictionary(m.weightMeans.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let entropies = Dictionary(m.entropyMeans.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let regions = m.tokenCounts.filter { $0.value > 0 }.sorted { rank($0.name) < rank($1.name) }
            for r in regions {
                lines.append("  " + pad(r.name, 14) + pad(String(format: "%.1f%%", 100 * Double(r.value) / Double(total)), 10)
                             + pad(weights[r.name].map { String(format: "%.3f", $0) } ?? "–", 10)
                             + (entropies[r.name].map { String(format: "%.3f", $0) } ?? "–"))
            }
            var curriculum: [String] = []
            if let p = m.entropyProgress { curriculum.append(String(format: "progress %.2f", p)) }
            curriculum += m.gammas.sorted { rank($0.name) < rank($1.name) }.map { String(format: "γ %@ %.2f", $0.name, $0.value) }
            lines += curriculum.isEmpty ? [pad("curriculum", 14) + "no γ's reported (uniform profile)"]
                                        : wrap("curriculum", curriculum, width: width)
            lines.append(pad("reward mean", 14) + String(format: "%.3f", m.rewardMean))
        } else {
            _ = v("metrics_batches")
            lines.append("regions: no shape batch yet")
        }

        let rest = s.counters.filter { !shown.contains($0.name) }
        if !rest.isEmpty {
            lines.append("")
            lines += wrap("other", rest.map { "\($0.name) \($0.value)" }, width: width)
        }
        return lines.map { $0.count > width ? String($0.prefix(width)) : $0 }
    }

    /// Regions in category order (outside, think_tag, think, …), unknown names last.
    static func rank(_ region: String) -> (Int, String) {
        (CategoryNames.all.firstIndex(of: region) ?? CategoryNames.all.count, region)
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

    static func ms(_ micros: Int?) -> String {
        guard let micros else { return "–" }
        return micros >= 60_000_000 ? ProgressMeter.duration(Double(micros) / 1e6)
            : micros >= 1_000_000 ? String(format: "%.2f s", Double(micros) / 1e6)
            : micros >= 1000 ? String(format: "%.1f ms", Double(micros) / 1000) : "\(micros) µs"
    }

    /// `label` then items separated by ` · `, over as many lines as the width needs.
    static func wrap(_ label: String, _ items: [String], width: Int) -> [String] {
        var out: [String] = [], line = pad(label, 14), empty = true
        for item in items {
            if !empty && line.count + 3 + item.count > width {
                out.append(line)
                line = pad("", 14); empty = true
            }
            line += (empty ? "" : " · ") + item
            empty = false
        }
        out.append(line)
        return out
    }
}
