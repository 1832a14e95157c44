import Foundation

/// A self-contained SVG chart (no scripts, fonts or links): lines with optional shaded bands, or
/// scatter points, on linear or log-10 axes, with ticks and a legend.
public struct SVGPlot: Sendable {
    /// One named set of points drawn in one style.
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        /// Shaded band (x, low, high), drawn under the line.
        public var band: [(x: Double, lo: Double, hi: Double)] = []
        public var scatter = false
        public init(name: String, color: String, points: [(x: Double, y: Double)], band: [(x: Double, lo: Double, hi: Double)] = [], scatter: Bool = false) {
            self.name = name; self.color = color; self.points = points; self.band = band; self.scatter = scatter
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY = false
    public var width = 560.0
    public var height = 300.0
    public var series: [Series] = []

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [Series] = []) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logY = logY; self.series = series
    }

    /// Colour-blind-safe palette (Okabe–Ito), cycled.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    static let left = 64.0, right = 150.0, top = 28.0, bottom = 42.0

    public func render() -> String {
        let fy: (Double) -> Double? = { v in logY ? (v > 0 ? log10(v) : nil) : v }
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for p in s.points where p.x.isFinite && p.y.isFinite { if let y = fy(p.y) { xs.append(p.x); ys.append(y) } }
            for b in s.band where b.x.isFinite {
                for v in [b.lo, b.hi] where v.isFinite { if let y = fy(v) { ys.append(y) } }
            }
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(Self.left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else {
            return svg + "<text x=\"\(Self.left)\" y=\"\(height / 2)\">no data</text>\n</svg>\n"
        }
        let (xa, xb) = x0 == x1 ? (x0 - 1, x1 + 1) : (x0, x1)
        let pad = (y1 - y0) * 0.05
        let (ya, yb) = y0 == y1 ? (y0 - 1, y1 + 1) : (y0 - pad, y1 + pad)
        let pw = width - Self.left - Self.right, ph = height - Self.top - Self.bottom
        func px(_ x: Double) -> Double { Self.left + (x - xa) / (xb - xa) * pw }
        func py(_ y: Double) -> Double { Self.top + (1 - (y - ya) / (yb - ya)) * ph }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        // Axes and ticks.
        svg += "<rect x=\"\(f(Self.left))\" y=\"\(f(Self.top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#999\"/>\n"
        for t in Self.ticks(xa, xb) {
            svg += "<line x1=\"\(f(px(t)))\" x2=\"\(f(px(t)))\" y1=\"\(f(Self.top + ph))\" y2=\"\(f(Self.top + ph + 4))\" stroke=\"#999\"/>"
            svg += "<text x=\"\(f(px(t)))\" y=\"\(f(Self.top + ph + 16))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        let yTicks = logY ? Self.logTicks(ya, yb) : Self.ticks(ya, yb)
        for t in yTicks {
            svg += "<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.left + pw))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(f(Self.left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(logY ? Self.label(pow(10, t)) : Self.label(t))</text>\n"
        }
        svg += "<text x=\"\(f(Self.left + pw / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(14 \(f(Self.top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))\(logY ? " (log)" : "")</text>\n"
        // Data.
        for s in series {
            let band = s.band.compactMap { b -> (Double, Double, Double)? in
                guard let lo = fy(b.lo), let hi = fy(b.hi), b.x.isFinite, lo.isFinite, hi.isFinite else { return nil }
                return (px(b.x), py(lo), py(hi))
            }
            if band.count > 1 {
                let pts = band.map { "\(f($0.0)),\(f($0.2))" } + band.reversed().map { "\(f($0.0)),\(f($0.1))" }
                svg += "<polygon points=\"\(pts.joined(separator: " "))\" fill=\"\(s.color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
            }
            let pts = s.points.compactMap { p -> (Double, Double)? in
                guard p.x.isFinite, p.y.isFinite, let y = fy(p.y) else { return nil }
                return (px(p.x), py(y))
            }
            if s.scatter {
                for p in pts { svg += "<circle cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"2\" fill=\"\(s.color)\" fill-opacity=\"0.55\"/>" }
                svg += "\n"
            } else if pts.count > 1 {
                svg += "<polyline points=\"\(pts.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\"/>\n"
            }
        }
        // Legend.
        for (i, s) in series.enumerated() {
            let y = Self.top + 8 + Double(i) * 16
            svg += "<rect x=\"\(f(width - Self.right + 10))\" y=\"\(f(y - 8))\" width=\"10\" height=\"10\" fill=\"\(s.color)\"/>"
            svg += "<text x=\"\(f(width - Self.right + 26))\" y=\"\(f(y + 1))\">\(Self.escape(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// About five round ticks (1, 2, 5 × 10^k steps) within [a, b].
    static func ticks(_ a: Double, _ b: Double) -> [Double] {
        let raw = (b - a) / 5
        guard raw > 0, raw.isFinite else { return [a] }
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = (a / step).rounded(.up) * step, out: [Double] = []
        while t <= b + step * 1e-9, out.count < 12 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    /// Integer powers of ten within [a, b] (log10 units); falls back to linear ticks in a narrow range.
    static func logTicks(_ a: Double, _ b: Double) -> [Double] {
        let lo = Int(a.rounded(.up)), hi = Int(b.rounded(.down))
        guard hi > lo else { return ticks(a, b) }
        let stride = max(1, (hi - lo + 5) / 6)
        return Swift.stride(from: lo, through: hi, by: stride).map(Double.init)
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 { return String(format: "%.0e", v) }
        if a >= 100 || v == v.rounded() { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
