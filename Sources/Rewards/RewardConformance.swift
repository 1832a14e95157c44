import PyJSON

/// Checks the reward against reference files: the golden vectors' `rewards` (ResT variant, one
/// entry per `reward_configs` config) and the ToolRL repository's `reward_refs_*.jsonl` rows.
/// Each check returns the first difference as a line of text, or nil when everything matches.
public enum RewardConformance {
    /// One reward configuration of a vectors file: environment flags and the training step.
    public struct Config: Sendable, Equatable {
        /// The config's name in the reference file.
        public let name: String
        /// Its reward flags.
        public let options: RewardOptions
        /// The training step it scores at.
        public let step: Int
        /// A named config.
        public init(name: String, options: RewardOptions, step: Int) {
            self.name = name
            self.options = options
            self.step = step
        }
    }

    /// A malformed reference file.
    public enum FormatError: Error, Sendable, CustomStringConvertible {
        case missingField(String)
        public var description: String {
            switch self { case .missingField(let f): return "reference file: missing or mistyped field '\(f)'" }
        }
    }

    /// The `reward_configs` of a vectors file's header (`[{name, env, step}]`).
    public static func configs(header: JSONValue) throws(FormatError) -> [Config] {
        guard let list = header["reward_configs"]?.arrayValue else { throw .missingField("reward_configs") }
        var out: [Config] = []
        for item in list {
            guard let name = item["name"]?.stringValue else { throw .missingField("reward_configs[].name") }
            var env: [String: String] = [:]
            if let e = item["env"]?.objectValue {
                for (k, v) in zip(e.keys, e.values) { env[k] = v.stringValue ?? PyJSON.dumps(v) }
            }
            out.append(Config(name: name, options: RewardOptions(environment: env), step: item["step"]?.intValue ?? 0))
        }
        return out
    }

    /// Outcome of checking a whole reference file: one entry per case or row.
    public struct Report: Sendable {
        /// Checks that passed.
        public var passed = 0
        /// One line per failing case: its first difference.
        public var failures: [String] = []
        /// Checks that failed.
        public var failed: Int { failures.count }
        /// `N passed, M failed`.
        public var summary: String { "\(passed) passed, \(failed) failed" }
    }

    /// Checks the rewards of every case of a parsed vectors file (`kind: "rest-vectors"`).
    public static func checkVectors(_ doc: JSONValue, variant: String = RestReward.name) throws(FormatError) -> Report {
        let configs = try configs(header: doc)
        guard let cases = doc["cases"]?.arrayValue else { throw .missingField("cases") }
        var report = Report()
        for c in cases {
            if let diff = check(caseJSON: c, configs: configs, variant: variant) { report.failures.append(diff) }
            else { report.passed += 1 }
        }
        return report
    }

    /// Checks every row of a `reward_refs_*.jsonl` file (one JSON object per non-blank line).
    public static func checkReferenceLines(_ text: String, variant: String = ToolRLReward.name) -> Report {
        var report = Report()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            do {
                let row = try PyJSON.loads(String(line))
                if let diff = checkReferenceRow(row, variant: variant) { report.failures.append(diff) }
                else { report.passed += 1 }
            } catch {
                report.failures.append("line \(n + 1): not JSON (\(error))")
            }
        }
        return report
    }

    /// Checks one vectors case (`solution_str`, `ground_truth`, `rewards`) under every config.
    /// A recorded `{"error": "<Type>"}` (for the whole `rewards` or one config) must be reproduced
    /// as a thrown `RewardError`.
    public static func check(caseJSON: JSONValue, configs: [Config], variant: String = RestReward.name,
                             tolerance: Double = 1e-9) -> String? {
        let id = caseJSON["id"]?.stringValue ?? "?"
        guard let solution = caseJSON["solution_str"]?.stringValue else { return "\(id): no solution_str" }
        guard let gt = caseJSON["ground_truth"]?.stringValue else { return "\(id): no ground_truth" }
        guard let rewards = caseJSON["rewards"] else {
            // A case whose reference run raised before recording rewards: any error we raise must be
            // the recorded one; returning a score is fine (the weighting code may be what raised).
            guard let recorded = caseJSON["error"]?.stringValue else { return "\(id): no rewards" }
            for config in configs {
                guard let fn = try? RewardRegistry.make(variant, options: config.options) else { return "unknown variant \(variant)" }
                do { _ = try fn.score(solution: solution, groundTruth: gt, step: config.step) } catch {
                    if !errorMatches(error, recorded) { return "\(id) [\(config.name)]: raised \(error.pythonType), reference raised \(recorded)" }
                }
            }
            return nil
        }
        for config in configs {
            let expected: JSONValue
            if rewards["error"] != nil { expected = rewards }
            else if let e = rewards[config.name] { expected = e }
            else { return "\(id): no rewards for config \(config.name)" }
            let fn: any RewardFunction
            do { fn = try RewardRegistry.make(variant, options: config.options) } catch { return error.description }
            if let diff = compare(fn, solution: solution, groundTruth: gt, step: config.step, expected: expected,
                                  keys: ("score", "format", "correctness", "length"), tolerance: tolerance) {
                return "\(id) [\(config.name)]: \(diff)"
            }
        }
        return nil
    }

    /// Checks one row of a ToolRL `reward_refs` file (`solution_str`, `ground_truth`, `score`,
    /// `format_score`, `correctness_score`, `length_score`) with the given variant, all flags off.
    public static func checkReferenceRow(_ row: JSONValue, variant: String = ToolRLReward.name,
                                         options: RewardOptions = RewardOptions(), step: Int = 0,
                                         tolerance: Double = 1e-9) -> String? {
        let id = row["index"].map { PyJSON.dumps($0) } ?? "?"
        let kind = row["kind"]?.stringValue ?? ""
        guard let solution = row["solution_str"]?.stringValue else { return "\(id): no solution_str" }
        guard let gt = row["ground_truth"]?.stringValue else { return "\(id): no ground_truth" }
        let fn: any RewardFunction
        do { fn = try RewardRegistry.make(variant, options: options) } catch { return error.description }
        if let diff = compare(fn, solution: solution, groundTruth: gt, step: step, expected: row,
                              keys: ("score", "format_score", "correctness_score", "length_score"), tolerance: tolerance) {
            return "row \(id) \(kind): \(diff)"
        }
        return nil
    }

    static func compare(_ fn: any RewardFunction, solution: String, groundTruth: String, step: Int,
                        expected: JSONValue, keys: (String, String, String, String), tolerance: Double) -> String? {
        let result: RewardComponents
        do {
            result = try fn.score(solution: solution, groundTruth: groundTruth, step: step)
        } catch {
            guard let want = expected["error"]?.stringValue else { return "raised \(error) but the reference returned a score" }
            return errorMatches(error, want) ? nil : "raised \(error.pythonType), reference raised \(want)"
        }
        if let want = expected["error"]?.stringValue { return "returned \(result) but the reference raised \(want)" }
        let pairs: [(String, Double)] = [(keys.0, result.score), (keys.1, result.format),
                                         (keys.2, result.correctness), (keys.3, result.length)]
        for (key, got) in pairs {
            guard let want = expected[key]?.doubleValue ?? expected[key]?.boolValue.map({ $0 ? 1.0 : 0.0 }) else {
                return "reference has no numeric '\(key)'"
            }
            if !(abs(got - want) <= tolerance || (got.isNaN && want.isNaN) || got == want) {
                return "\(key) = \(FloatRepr.pyRepr(got)), reference \(FloatRepr.pyRepr(want))"
            }
        }
        return nil
    }

    /// Our error reproduces the reference's exception type (or a base class of it).
    static func errorMatches(_ error: RewardError, _ want: String) -> Bool {
        let got = error.pythonType
        if got == want || want == "Exception" { return true }
        return want == "ValueError" && got == "JSONDecodeError"
    }
}
