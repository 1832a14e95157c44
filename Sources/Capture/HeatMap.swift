import Regions

/// Writes a self-contained HTML page (inline CSS, no scripts or external resources) showing each
/// replayed rollout's tokens coloured by weight, underlined by category, with a tooltip per token.
/// Multi-turn rollouts: observation tokens (tool output between turns) are greyed out, every turn
/// starts with a `turn k` marker, and a per-turn region table follows the region table.
public enum HeatMap {
    static let categoryColors = ["#9e9e9e", "#6a1b9a", "#ab47bc", "#1565c0", "#e65100", "#2e7d32",
                                 "#00838f", "#ad1457", "#546e7a", "#424242", "#bdbdbd"]

    public static func escape(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "\n": o += "↵"
            case "\t": o += "⇥"
            default: o.unicodeScalars.append(ch)
            }
        }
        return o
    }

    /// `tokenText` gives the text of one token id (e.g. the tokenizer's decode of `[id]`).
    public static func render(_ report: ReplayReport, title: String, tokenText: (Int32) -> String) -> String {
        let maxW = max(report.rollouts.flatMap(\.weights).max() ?? 1, 1e-6)
        var h = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>\(escape(title))</title><style>
        body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
        .roll{margin:1em 0;padding:.6em;border:1px solid #ddd;border-radius:6px}
        .meta{font-size:.85em;color:#555;margin-bottom:.4em}
        .toks{font-family:ui-monospace,monospace;font-size:13px;line-height:1.9;white-space:pre-wrap;word-break:break-all}
        .t{border-bottom:3px solid;padding:1px 0}
        .m{opacity:.35}
        .o{background:#e0e0e0 !important;color:#9e9e9e;border-color:#e0e0e0 !important}
        .turn{display:inline-block;font-size:10px;color:#fff;background:#455a64;border-radius:3px;padding:0 4px;margin:0 3px}
        table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}
        .sw{display:inline-block;width:14px;height:4px;margin-right:4px;vertical-align:middle}
        </style></head><body>
        <h1>\(escape(title))</h1>
        <p>Background: token weight (white 0 → red \(maxW)); underline: token category; faded: outside the mask; grey: observation (tool output between two turns). Hover a token for details.</p>

        """
        h += "<p>" + CategoryNames.all.enumerated().map { i, n in
            "<span class=\"sw\" style=\"background:\(categoryColors[i])\"></span>\(n)"
        }.joined(separator: " &nbsp; ") + "</p>\n"
        h += "<table><tr><th style=\"text-align:left\">region</th><th>tokens</th><th>mean weight</th><th>mean entropy</th></tr>\n"
        for (c, s) in report.regions.sorted(by: { $0.key < $1.key }) {
            let e = s.meanEntropy.map { format($0) } ?? "–"
            h += "<tr><td style=\"text-align:left\">\(CategoryNames.name(c))</td><td>\(s.tokens)</td><td>\(format(s.meanWeight))</td><td>\(e)</td></tr>\n"
        }
        h += "</table>\n"
        if !report.turnRegions.isEmpty {
            h += "<p>Per turn, over \(report.multiTurnRollouts) multi-turn rollouts (\(report.observationTokens) observation tokens, in no statistic):</p>\n"
            h += "<table><tr><th>turn</th><th style=\"text-align:left\">region</th><th>tokens</th><th>mean weight</th><th>mean entropy</th></tr>\n"
            for (key, s) in report.turnRegions.sorted(by: { $0.key < $1.key }) {
                let e = s.meanEntropy.map { format($0) } ?? "–"
                h += "<tr><td>\(key.turn)</td><td style=\"text-align:left\">\(CategoryNames.name(key.category))</td><td>\(s.tokens)</td><td>\(format(s.meanWeight))</td><td>\(e)</td></tr>\n"
            }
            h += "</table>\n<table><tr><th>turn</th><th>rollouts</th><th>mean turn reward</th></tr>\n"
            for (k, t) in report.turns.sorted(by: { $0.key < $1.key }) {
                h += "<tr><td>\(k)</td><td>\(t.rollouts)</td><td>\(format(t.meanReward))</td></tr>\n"
            }
            h += "</table>\n"
        }
        for r in report.rollouts {
            var meta = "record \(r.record), rollout \(r.row) · reward \(r.reward)"
            if r.turnRewards.count > 1 { meta += " · turn rewards " + r.turnRewards.map { "\($0)" }.joined(separator: ", ") }
            h += "<div class=\"roll\"><div class=\"meta\">\(meta) · ground truth: \(escape(String(r.groundTruth.prefix(300))))</div><div class=\"toks\">"
            let multiTurn = r.turnRewards.count > 1
            for j in 0..<r.ids.count {
                let turn = j < r.turnIndex.count ? r.turnIndex[j] : -1
                if multiTurn, turn >= 0, j == 0 || (j - 1 < r.turnIndex.count && r.turnIndex[j - 1] != turn) {
                    h += "<span class=\"turn\">turn \(turn)</span>"
                }
                let w = r.weights[j]
                let a = min(max(Double(w) / Double(maxW), 0), 1)
                let bg = "rgba(220,40,30,\(format(a)))"
                let c = Int(r.categories[j])
                let color = c < categoryColors.count ? categoryColors[c] : "#000"
                var tip = "id \(r.ids[j]) · \(CategoryNames.name(r.categories[j])) · w \(w)"
                if multiTurn && turn >= 0 { tip += " · turn \(turn)" }
                if let e = r.entropies?[j] { tip += " · H \(e)" }
                let cls = r.categories[j] == TokenCategory.observation.rawValue ? "t o" : (r.mask[j] != 0 ? "t" : "t m")
                h += "<span class=\"\(cls)\" style=\"background:\(bg);border-color:\(color)\" title=\"\(escape(tip))\">\(escape(tokenText(r.ids[j])))</span>"
            }
            h += "</div></div>\n"
        }
        h += "</body></html>\n"
        return h
    }

    static func format(_ v: Double) -> String {
        let r = (v * 10000).rounded() / 10000
        return "\(r)"
    }
}
