import ArgumentParser
import Benchmarks
import Console
import Entropy
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `rest-shaper bench entropy`: speed of the entropy kernels on seeded LM-like rows, against the
/// machine's read bandwidth and the plain (non-skipping) kernel, all measured in the same run.
/// `--dtype all` measures fp32, bf16 and fp16 interleaved in one run and adds their rows/s ratios.
struct BenchEntropyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "entropy", abstract: "Benchmark the entropy kernels against the machine's read bandwidth (prints JSON).")

    @Option(help: "Rows (tokens).") var rows: Int = 256
    @Option(help: "Vocabulary size (row length).") var vocab: Int = 151_936
    @Option(help: "Logits dtype: fp32, bf16, fp16, or all (the three interleaved in one run).") var dtype: String = "fp32"
    @Option(help: "Threads (0 = all cores).") var threads: Int = 0
    @Option(help: "Row profile: lm (mixed), peaked or broad (see SyntheticLogits).") var profile: String = "lm"
    @Option(name: .customLong("repeat"), help: "Timed repetitions (interleaved; the fastest of each is reported).") var repeats: Int = 7
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Temperature τ.") var temperature: Float = 1
    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard rows > 0, vocab > 0, repeats > 0, threads >= 0 else { throw ValidationError("rows, vocab, repeat must be > 0 and threads ≥ 0") }
        guard SyntheticLogits.Profile(rawValue: profile) != nil else { throw ValidationError("--profile must be lm, peaked or broad") }
        guard dtype == "all" || DTypeArgument(rawValue: dtype) != nil else { throw ValidationError("--dtype must be fp32, bf16, fp16 or all") }
    }

    /// Best-of timings of one dtype.
    struct Case {
        let dtype: LogitsDType
        let bytes: [UInt8]
        var fast: [Float], plain: [Float]
        var tFast = Double.infinity, tPlain = Double.infinity, tRead = Double.infinity
        var cFast = Double.infinity, cPlain = Double.infinity
        var skippedGroups = 0
    }

    func run() async throws {
        let dtypes: [LogitsDType] = dtype == "all" ? [.fp32, .bf16, .fp16] : [DTypeArgument(rawValue: dtype)!.dtype]
        let floats = SyntheticLogits.generate(rows: rows, vocab: vocab, profile: SyntheticLogits.Profile(rawValue: profile)!, seed: seed)
        var cases = dtypes.map { dt in
            Case(dtype: dt, bytes: dt == .fp32 ? floats.withUnsafeBytes { Array($0) } : LogitsCodec.encode(floats, as: dt),
                 fast: [Float](repeating: 0, count: rows), plain: [Float](repeating: 0, count: rows))
        }
        var sink = 0.0
        let meter = progress.meter("bench entropy", total: repeats * cases.count, unit: .items("rounds"))
        for _ in 0..<repeats {
            for i in cases.indices { try measure(&cases[i], sink: &sink); meter.advance() }
        }
        meter.finish()
        let results = cases.map { json($0) }
        if results.count == 1 {
            print(results[0])
        } else {
            let base = cases[0]
            func ratio(_ c: Case) -> String {
                "\"\(c.dtype.rawValue)_vs_float32_rows_per_s\": \(base.tFast / c.tFast), \"\(c.dtype.rawValue)_vs_float32_rows_per_s_cpu\": \(base.cFast / c.cFast)"
            }
            print("{\"bench\": \"entropy\", \"dtype\": \"all\", \(cases.dropFirst().map(ratio).joined(separator: ", ")), \"results\": [\(results.joined(separator: ", "))]}")
        }
        if !sink.isFinite { print("(checksum not finite)") }
    }

    /// One interleaved repetition for one dtype: streaming read, skipping kernel, plain kernel.
    func measure(_ c: inout Case, sink: inout Double) throws {
        let clock = ContinuousClock()
        let dt = c.dtype
        try c.bytes.withUnsafeBytes { raw in
            let asFloats = raw.bindMemory(to: Float.self)
            var t0 = clock.now, c0 = BenchMachine.processCPUSeconds()
            sink += ReadBandwidth.streamSum(asFloats, threads: threads)
            c.tRead = min(c.tRead, entropySeconds(clock.now - t0))

            (t0, c0) = (clock.now, BenchMachine.processCPUSeconds())
            let skipped = try c.fast.withUnsafeMutableBufferPointer {
                try EntropyKernel.entropiesCountingSkips(logits: raw, dtype: dt, rows: rows, vocab: vocab, temperature: temperature,
                                                         threads: threads, kernel: .automatic, into: $0)
            }
            c.tFast = min(c.tFast, entropySeconds(clock.now - t0))
            c.cFast = min(c.cFast, BenchMachine.processCPUSeconds() - c0)
            c.skippedGroups = skipped

            (t0, c0) = (clock.now, BenchMachine.processCPUSeconds())
            try c.plain.withUnsafeMutableBufferPointer {
                try EntropyKernel.entropies(logits: raw, dtype: dt, rows: rows, vocab: vocab, temperature: temperature,
                                            threads: threads, kernel: .plain, into: $0)
            }
            c.tPlain = min(c.tPlain, entropySeconds(clock.now - t0))
            c.cPlain = min(c.cPlain, BenchMachine.processCPUSeconds() - c0)
        }
    }

    func json(_ c: Case) -> String {
        var maxDiff: Float = 0, meanH = 0.0
        for i in 0..<rows { maxDiff = max(maxDiff, abs(c.fast[i] - c.plain[i])); meanH += Double(c.fast[i]) }
        let n = Double(c.bytes.count)
        let readGBs = n / c.tRead / 1e9, fastGBs = n / c.tFast / 1e9, plainGBs = n / c.tPlain / 1e9
        return """
        {"bench": "entropy", "rows": \(rows), "vocab": \(vocab), "dtype": "\(c.dtype.rawValue)", "threads": \(threads), \
        "profile": "\(profile)", "temperature": \(temperature), "repeat": \(repeats), "vector_kernels": \(EntropyKernel.hasVectorKernels), \
        "bytes": \(c.bytes.count), "kernel_seconds": \(c.tFast), "gb_per_s": \(fastGBs), "rows_per_s": \(Double(rows) / c.tFast), \
        "read_bandwidth_gb_per_s": \(readGBs), "ratio_to_read_bandwidth": \(fastGBs / readGBs), \
        "plain_kernel_seconds": \(c.tPlain), "plain_gb_per_s": \(plainGBs), "plain_rows_per_s": \(Double(rows) / c.tPlain), \
        "plain_ratio_to_read_bandwidth": \(plainGBs / readGBs), "speedup_vs_plain": \(c.tPlain / c.tFast), \
        "cpu_seconds": \(c.cFast), "plain_cpu_seconds": \(c.cPlain), "speedup_vs_plain_cpu": \(c.cPlain / c.cFast), \
        "skip_threshold_nats": \(EntropyKernel.skipThreshold(vocab: vocab)), "skip_error_bound": \(EntropyKernel.skipErrorBound(vocab: vocab)), \
        "skipped_exp_fraction": \(Double(c.skippedGroups) / Double(rows * ((vocab + 31) / 32))), \
        "max_abs_diff_vs_plain": \(maxDiff), "mean_entropy": \(meanH / Double(rows))}
        """
    }
}
