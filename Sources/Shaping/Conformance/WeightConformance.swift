/// The pass rule for golden weight cases, for `rest-shaper conformance` and the tests: for every
/// recorded step, the `released` profile must zero exactly the same tokens and give every other
/// weight within 1e-6 relative of the vector (the row mean's summation order may move it by a few
/// ulp); a recorded exception must come back as the typed ``ShapingError`` of that Python type.
public enum WeightConformance {
    /// Relative tolerance of the pass rule.
    public static let relativeTolerance: Float = 1e-6

    /// Runs one case; returns nil when it passes, else a one-line description of the first difference.
    public static func check(_ c: WeightCase, codec: any ReleasedTextCodec,
                             config: ShapingConfig = .released) -> String? {
        let profile: ReleasedProfile
        do { profile = try ReleasedProfile(config: config) } catch { return "bad config: \(error)" }
        guard c.tokenIDs.count == c.lossMask.count else {
            return "token_ids (\(c.tokenIDs.count)) and loss_mask (\(c.lossMask.count)) differ in length"
        }
        for (step, want) in c.expected {
            let (w, outcome) = profile.weights(ids: c.tokenIDs, mask: c.lossMask, codec: codec, step: ShapingStep(step: step))
            switch (want, outcome) {
            case (.error(let name), .fellBack(let e)):
                if e.pythonExceptionName != name { return "step \(step): expected \(name), got \(e)" }
            case (.error(let name), .ok):
                return "step \(step): expected \(name), got weights"
            case (.weights, .fellBack(let e)):
                return "step \(step): expected weights, got \(e)"
            case (.weights(let exp), .ok):
                if let d = compare(got: w, want: exp.map(Double.init)) { return "step \(step): \(d)" }
            }
        }
        return nil
    }

    /// Compares weights by the pass rule; nil when equal enough, else the first difference. The one
    /// weight comparator of the package (the conformance suites, the tests, examples/swift-embed):
    /// golden vectors are float64 JSON, so the comparison is in float64.
    public static func compare(got: [Float], want: [Double]) -> String? {
        guard got.count == want.count else { return "length \(got.count) ≠ \(want.count)" }
        let tolerance = Double(relativeTolerance)
        for i in 0..<got.count {
            let g = Double(got[i]), e = want[i]
            if (g == 0) != (e == 0) { return "token \(i): got \(g), want \(e) (zero mismatch)" }
            if abs(g - e) > tolerance * abs(e) { return "token \(i): got \(g), want \(e)" }
        }
        return nil
    }
}
