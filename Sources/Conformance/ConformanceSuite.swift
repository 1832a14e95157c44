/// Result of checking one reference file.
public struct ConformanceReport: Sendable {
    public var passed: Int = 0
    public var failed: Int = 0
    /// One line per failing case: the case id and its first difference.
    public var failures: [String] = []
    /// Told the number of cases checked after each one (the CLI's progress).
    let onCase: (@Sendable (Int) -> Void)?
    public init() { onCase = nil }
    /// A report that tells `context.onCase` about every case recorded.
    public init(_ context: ConformanceContext) { onCase = context.onCase }
    public mutating func record(_ id: String, _ difference: String?) {
        if let difference { failed += 1; failures.append("\(id): \(difference)") } else { passed += 1 }
        onCase?(passed + failed)
    }
    /// The closing line every conformance run prints: `N passed, M failed`.
    public var summary: String { "\(passed) passed, \(failed) failed" }
}

/// A kind of reference file (`rest-vectors`, `tokenizer-cases`, BFCL checker records, …) and how to check it.
public protocol ConformanceSuite: Sendable {
    /// Stable name of the file kind.
    static var kind: String { get }
    /// Whether this suite recognises the file. For a `.jsonl` file the argument is its first record;
    /// for a `.json` file it is a small object `{"kind": …, "keys": [top-level keys]}` (so a 400 KB
    /// vectors file is not parsed once per suite).
    static func recognises(firstRecordJSON: String) -> Bool
    /// Check every case of the file.
    static func run(path: String, context: ConformanceContext) throws -> ConformanceReport
}

/// What a suite may need besides the file: the tokenizer path given on the command line, and
/// whom to tell about progress.
public struct ConformanceContext: Sendable {
    public var tokenizerPath: String?
    /// Called with the number of cases checked so far, after each case (progress for a person).
    public var onCase: (@Sendable (Int) -> Void)?
    public init(tokenizerPath: String? = nil, onCase: (@Sendable (Int) -> Void)? = nil) {
        self.tokenizerPath = tokenizerPath; self.onCase = onCase
    }
}

/// Every suite the `conformance` command knows; a new file kind is one type added here.
public enum ConformanceRegistry {
    public static let all: [any ConformanceSuite.Type] = [
        RestVectorsSuite.self,
        MisalignmentDemoSuite.self,
        TokenizerCasesSuite.self,
        BFCLCheckerSuite.self,
        BFCLDecodeSuite.self,
        APIBankScoreSuite.self,
        RllaRewardRefsSuite.self,
    ]
}
