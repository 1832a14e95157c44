// swift-tools-version: 6.0
// rest-shaper: ResT token-level policy-gradient reshaping for tool-use LLM RL.
//
// Module graph (one-way; scripts/check_module_graph.py checks it against the imports):
//   PyJSON ─┬─> Rewards ──────────────────────────────┐
//           ├─> Shaping, Pipeline, ToolEval            │
//   CCJSON ─> Tokenization ─> Regions ─> Shaping ─────┼─> Pipeline ─> Wire (+ CCJSON, CKernels) ─> Capture ─> Sidecar
//   CKernels ─> Entropy ───────────────────────────────┘       └─> RestShaperCore (the library product: re-exports
//     Entropy, Pipeline, Regions, Rewards, Shaping, Tokenization; no unsafeFlags anywhere in it)
//   HTTPFront (Pipeline, Rewards, Wire's error codes, WorkQueue, PyJSON, Hummingbird): the HTTP reward front for
//     trainers that call a remote reward model (OpenRLHF, slime), served beside the Sidecar by `serve --http`.
//   Trainer (Tokenization, Regions, Entropy, Pipeline, PyJSON, COpenBLAS, CKernels, CTensor) ─> CUDABackend (+ CKernels for bf16)
//   Analysis (Entropy: its seeded generator) — metrics logs → statistics and reports
//   Conformance (Tokenization, Shaping, Rewards, ToolEval, Pipeline, PyJSON)
//   Benchmarks (CKernels, Entropy, Tokenization, Trainer, Pipeline, HTTPFront, PyJSON): bench code and seeded
//     synthetic data, kept out of the library modules; only the CLI and tests import it.
//   Console (progress, terminal; no dependencies: library modules report through callbacks)
//   WorkQueue (the one bounded work queue; swift-collections' Deque) ─> Capture, Sidecar, HTTPFront
//   Capture (Wire, WorkQueue, Pipeline, Regions, Shaping); Sidecar's counters: swift-prometheus (ServerMetrics)
//   rest-shaper (CLI, swift-argument-parser) on top of everything.
import PackageDescription

/// Hot Swift loops get the host's vector units only through explicit C kernels (see CKernels);
/// Swift targets are built with the default optimiser settings.
let swiftSettings: [SwiftSetting] = []

let package = Package(
    name: "rest-shaper",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rest-shaper", targets: ["rest-shaper"]),
        // The library others depend on by version (examples/swift-embed): `import RestShaperCore`.
        .library(name: "RestShaperCore", targets: ["RestShaperCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // ── C system libraries (Debian: libzmq3-dev libcjson-dev libopenblas-dev) ──
        .systemLibrary(name: "CZmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CCJSON", pkgConfig: "libcjson", providers: [.apt(["libcjson-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // ── C kernels (AVX2/FMA with a portable fallback, chosen at run time) ──
        // No unsafeFlags: SwiftPM refuses them in a package depended on by version, and the
        // release build's -O2 is as fast as -O3 was here (`bench entropy`/`bench train`, issue 16):
        // the hot loops are explicit AVX2/FMA intrinsics in `target(...)` functions.
        .target(name: "CKernels"),
        .target(name: "CTensor", dependencies: ["CKernels", "COpenBLAS"]),

        // ── Core ──
        .target(name: "PyJSON", swiftSettings: swiftSettings),
        .target(name: "Tokenization", dependencies: ["CCJSON"], swiftSettings: swiftSettings),
        .target(name: "Regions", dependencies: ["Tokenization"], swiftSettings: swiftSettings),
        .target(name: "Shaping", dependencies: ["Regions", "Tokenization", "PyJSON"], swiftSettings: swiftSettings),
        .target(name: "Rewards", dependencies: ["PyJSON"], swiftSettings: swiftSettings),
        .target(name: "Entropy", dependencies: ["CKernels"], swiftSettings: swiftSettings),
        .target(name: "Pipeline", dependencies: ["Tokenization", "Regions", "Shaping", "Rewards", "Entropy", "PyJSON"], swiftSettings: swiftSettings),
        // The library product's one module: re-exports the core and adds the embedding conveniences.
        .target(name: "RestShaperCore", dependencies: ["Entropy", "Pipeline", "Regions", "Rewards", "Shaping", "Tokenization"], swiftSettings: swiftSettings),

        // ── Sidecar ──
        .target(name: "Wire", dependencies: ["CCJSON", "CKernels", "Pipeline"], swiftSettings: swiftSettings),
        .target(name: "WorkQueue", dependencies: [.product(name: "DequeModule", package: "swift-collections")], swiftSettings: swiftSettings),
        .target(name: "Capture", dependencies: ["Wire", "WorkQueue", "Pipeline", "Regions", "Shaping"], swiftSettings: swiftSettings),
        .target(name: "Sidecar", dependencies: ["CZmq", "Wire", "Capture", "Pipeline", "Shaping", "WorkQueue", .product(name: "Logging", package: "swift-log"),
                                                .product(name: "Prometheus", package: "swift-prometheus")], swiftSettings: swiftSettings),

        // ── People watching long work: progress lines and bars, terminal queries ──
        .target(name: "Console", swiftSettings: swiftSettings),

        // ── HTTP reward front (OpenRLHF / slime remote reward model) ──
        .target(name: "HTTPFront", dependencies: [
            "Pipeline", "Rewards", "Wire", "WorkQueue", "PyJSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),

        // ── Trainer, evaluation ──
        .target(name: "Trainer", dependencies: ["COpenBLAS", "CKernels", "CTensor", "Tokenization", "Regions", "Entropy", "Pipeline", "PyJSON"], swiftSettings: swiftSettings),
        .target(name: "CUDABackend", dependencies: ["Trainer", "Entropy", "Pipeline", "CKernels"], swiftSettings: swiftSettings),
        .target(name: "ToolEval", dependencies: ["PyJSON"], swiftSettings: swiftSettings),
        .target(name: "Analysis", dependencies: ["Entropy"], swiftSettings: swiftSettings),
        .target(name: "Conformance", dependencies: ["Tokenization", "Shaping", "Rewards", "ToolEval", "Pipeline", "PyJSON"], swiftSettings: swiftSettings),

        // ── Benchmarks: bench measurements and seeded synthetic data (never in a library product) ──
        .target(name: "Benchmarks", dependencies: ["CKernels", "Entropy", "Tokenization", "Trainer", "Pipeline", "HTTPFront", "PyJSON"], swiftSettings: swiftSettings),

        // ── CLI ──
        .executableTarget(name: "rest-shaper", dependencies: [
            "Tokenization", "Regions", "Shaping", "Rewards", "Entropy", "Pipeline", "Wire", "Capture", "Sidecar", "HTTPFront",
            "Trainer", "CUDABackend", "ToolEval", "Conformance", "Benchmarks", "PyJSON", "Console", "Analysis",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),

        // ── Tests (Swift Testing). Fixtures are vendored copies (see each Fixtures/SOURCES.md);
        // TestSupport holds the ones several test targets share (e.g. the Qwen3 vocabulary). ──
        .target(name: "TestSupport", dependencies: ["Tokenization"], path: "Tests/TestSupport", resources: [.copy("Fixtures")]),
        .testTarget(name: "PyJSONTests", dependencies: ["PyJSON"]),
        .testTarget(name: "TokenizationTests", dependencies: ["TestSupport", "Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ShapingTests", dependencies: ["TestSupport", "Regions", "Shaping", "Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RewardsTests", dependencies: ["TestSupport", "Rewards", "PyJSON"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EntropyTests", dependencies: ["Entropy", "Benchmarks"]),
        .testTarget(name: "RestShaperCoreTests", dependencies: ["TestSupport", "RestShaperCore"]),
        .testTarget(name: "PipelineTests", dependencies: ["TestSupport", "Pipeline", "Conformance", "Regions", "Shaping", "Tokenization", "Benchmarks"]),
        .testTarget(name: "SidecarTests", dependencies: ["TestSupport", "Wire", "Capture", "Sidecar", "Pipeline", "WorkQueue", "Entropy", .product(name: "Logging", package: "swift-log")], resources: [.copy("Fixtures")]),
        .testTarget(name: "HTTPFrontTests", dependencies: ["TestSupport", "HTTPFront", "Pipeline", "PyJSON"]),
        .testTarget(name: "TrainerTests", dependencies: ["TestSupport", "Trainer", "CTensor", "Pipeline", "PyJSON", "Tokenization"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CUDABackendTests", dependencies: ["CUDABackend", "Trainer", "Entropy"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console"]),
        .testTarget(name: "ToolEvalTests", dependencies: ["TestSupport", "ToolEval", "Conformance"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AnalysisTests", dependencies: ["TestSupport", "Analysis"], resources: [.copy("Fixtures")]),
    ]
)
