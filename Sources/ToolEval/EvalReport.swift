import Foundation
import PyJSON

/// Renders an `EvalRun` as a terminal table, JSON, or a self-contained HTML report.
public enum EvalReport {
    /// A fixed-width table: one row per category/level, then the micro-averaged overall.
    public static func table(_ run: EvalRun) -> String {
        let header = run.benchmark == "apibank" ? "level" : "category"
        let rows = run.groups + [run.overall]
        let width = max(header.count, rows.map(\.name.count).max() ?? 0)
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? fill + s : s + fill
        }
        var lines = [pad(header, width) + "  " + pad("correct", 8, left: true) + "  " + pad("total", 6, left: true) + "  " + pad("accuracy", 8, left: true)]
        lines.append(String(repeating: "-", count: width + 30))
        for (i, g) in rows.enumerated() {
            if i == rows.count - 1 { lines.append(String(repeating: "-", count: width + 30)) }
            lines.append(pad(g.name, width) + "  " + pad(String(g.correct), 8, left: true) + "  " + pad(String(g.total), 6, left: true)
                         + "  " + pad(String(format2(g.accuracy)), 8, left: true))
        }
        return lines.joined(separator: "\n")
    }

    /// `{"benchmark", "groups": [{name, correct, total, accuracy}], "overall": {…}, "elapsed_seconds"}`.
    public static func json(_ run: EvalRun, elapsedSeconds: Double? = nil, includeItems: Bool = false) -> String {
        func group(_ g: GroupScore) -> JSONValue {
            .object(JSONObject([("name", .string(g.name)), ("correct", .int(g.correct)), ("total", .int(g.total)), ("accuracy", .double(g.accuracy))]))
        }
        var pairs: [(String, JSONValue)] = [
            ("benchmark", .string(run.benchmark)),
            ("groups", .array(run.groups.map(group))),
            ("overall", group(run.overall)),
        ]
        if let elapsedSeconds { pairs.append(("elapsed_seconds", .double(elapsedSeconds))) }
        if includeItems {
            pairs.append(("items", .array(run.items.map { item in
                .object(JSONObject([("id", .string(item.id)), ("group", .string(item.group)), ("valid", .bool(item.valid)),
                                    ("error_type", .string(item.errorType)), ("error", .array(item.errors.map(JSONValue.string)))]))
            })))
        }
        return PyJSON.dumps(.object(JSONObject(pairs)), ensureASCII: false, indent: 2)
    }

    /// A single HTML file (inline CSS, no scripts or external resources) with the summary table and
    /// one row per item: id, group, verdict, error type, first error message, decoded output.
    public static func html(_ run: EvalRun, title: String, elapsedSeconds: Double? = nil) -> String {
        var out = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222}
        table{border-collapse:collapse;margin-bottom:2em}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;font-size:13px}
        th{background:#f0f0f0}
        tr.ok td.v{color:#176b2c;font-weight:bold} tr.bad td.v{color:#a61b1b;font-weight:bold}
        td.num{text-align:right} code{font-size:12px;white-space:pre-wrap;word-break:break-all}
        </style></head><body>
        <h1>\(escape(title))</h1>

        """
        if let elapsedSeconds { out += "<p>Scored \(run.items.count) items in \(format3(elapsedSeconds)) s.</p>\n" }
        out += "<table><tr><th>\(run.benchmark == "apibank" ? "level" : "category")</th><th>correct</th><th>total</th><th>accuracy (%)</th></tr>\n"
        for g in run.groups + [run.overall] {
            out += "<tr><td>\(escape(g.name))</td><td class=num>\(g.correct)</td><td class=num>\(g.total)</td><td class=num>\(format2(g.accuracy))</td></tr>\n"
        }
        out += "</table>\n<h2>Items</h2>\n<table><tr><th>id</th><th>group</th><th>verdict</th><th>error type</th><th>error</th><th>decoded output</th></tr>\n"
        for item in run.items {
            let decoded = item.decoded.map { PyJSON.dumps($0.json, ensureASCII: false) } ?? (item.raw.map { "(undecodable) " + $0 } ?? "")
            out += "<tr class=\(item.valid ? "ok" : "bad")><td>\(escape(item.id))</td><td>\(escape(item.group))</td>"
            out += "<td class=v>\(item.valid ? "correct" : "wrong")</td><td>\(escape(item.errorType))</td>"
            out += "<td>\(escape(item.errors.first ?? ""))</td><td><code>\(escape(String(decoded.prefix(2000))))</code></td></tr>\n"
        }
        out += "</table>\n</body></html>\n"
        return out
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    static func format2(_ x: Double) -> String { String(format: "%.2f", x) }
    static func format3(_ x: Double) -> String { String(format: "%.3f", x) }
}

