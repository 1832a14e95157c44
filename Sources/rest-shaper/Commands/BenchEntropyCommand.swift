import ArgumentParser
import Entropy

/// `rest-shaper bench entropy`: speed of the entropy kernels on seeded LM-like rows, against the
/// machine's read bandwidth and the plain (non-skipping) kernel, all measured in the same run.
struct BenchEntropyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "entropy", abstract: "Benchmark the entropy kernels against the machine's read bandwidth (prints JSON).")

    @Option(help: "Rows (tokens).") var rows: Int = 256
    @Option(help: "Vocabulary size (row length).") var vocab: Int = 151_936
    @Option(help: "Logits dtype: fp32, bf16 or fp16.") var dtype: DTypeArgument = .fp32
    @Option(help: "Threads (0 = all cores).") var threads: Int = 0
    @Option(help: "Row profile: lm (mixed), peaked or broad (see SyntheticLogits).") var profile: String = "lm"
    @Option(name: .customLong("repeat"), help: "Timed repetitions (interleaved; the fastest of each is reported).") var repeats: Int = 7
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Temperature τ.") var temperature: Float = 1

    func validate() throws {
        guard rows > 0, vocab > 0, repeats > 0, threads >= 0 else { throw ValidationError("rows, vocab, repeat must be > 0 and threads ≥ 0") }
        guard SyntheticLogits.Profile(rawValue: profile) != nil else { throw ValidationError("--profile must be lm, peaked or broad") }
    }

    func run() async throws {
        let dt = dtype.dtype
        let floats = SyntheticLogits.generate(rows: rows, vocab: vocab, profile: SyntheticLogits.Profile(rawValue: profile)!, seed: seed)
        let bytes: [UInt8] = dt == .fp32 ? floats.withUnsafeBytes { Array($0) } : LogitsCodec.encode(floats, as: dt)
        var fast = [Float](repeating: 0, count: rows), plain = fast
        let clock = ContinuousClock()
        var tFast = Double.infinity, tPlain = Double.infinity, tRead = Double.infinity
        var sink = 0.0
        try bytes.withUnsafeBytes { raw in
            let asFloats = raw.bindMemory(to: Float.self)
            func time(_ body: () throws -> Void) rethrows -> Double {
                let t0 = clock.now
                try body()
                return entropySeconds(clock.now - t0)
            }
            for _ in 0..<repeats {
                tRead = min(tRead, time { sink += ReadBandwidth.streamSum(asFloats, threads: threads) })
                tFast = min(tFast, try time {
                    try fast.withUnsafeMutableBufferPointer {
                        try EntropyKernel.entropies(logits: raw, dtype: dt, rows: rows, vocab: vocab, temperature: temperature,
                                                    threads: threads, kernel: .automatic, into: $0)
                    }
                })
                tPlain = min(tPlain, try time {
                    try plain.withUnsafeMutableBufferPointer {
                        try EntropyKernel.entropies(logits: raw, dtype: dt, rows: rows, vocab: vocab, temperature: temperature,
                                                    threads: threads, kernel: .plain, into: $0)
                    }
                })
            }
        }
        var maxDiff: Float = 0, meanH = 0.0
        for i in 0..<rows { maxDiff = max(maxDiff, abs(fast[i] - plain[i])); meanH += Double(fast[i]) }
        let n = Double(bytes.count)
        let readGBs = n / tRead / 1e9, fastGBs = n / tFast / 1e9, plainGBs = n / tPlain / 1e9
        print("""
        {"bench": "entropy", "rows": \(rows), "vocab": \(vocab), "dtype": "\(dt.rawValue)", "threads": \(threads), \
        "profile": "\(profile)", "temperature": \(temperature), "repeat": \(repeats), "vector_kernels": \(EntropyKernel.hasVectorKernels), \
        "bytes": \(bytes.count), "kernel_seconds": \(tFast), "gb_per_s": \(fastGBs), "rows_per_s": \(Double(rows) / tFast), \
        "read_bandwidth_gb_per_s": \(readGBs), "ratio_to_read_bandwidth": \(fastGBs / readGBs), \
        "plain_kernel_seconds": \(tPlain), "plain_gb_per_s": \(plainGBs), "plain_rows_per_s": \(Double(rows) / tPlain), \
        "plain_ratio_to_read_bandwidth": \(plainGBs / readGBs), "speedup_vs_plain": \(tPlain / tFast), \
        "skip_threshold_nats": \(EntropyKernel.skipThreshold(vocab: vocab)), "skip_error_bound": \(EntropyKernel.skipErrorBound(vocab: vocab)), \
        "max_abs_diff_vs_plain": \(maxDiff), "mean_entropy": \(meanH / Double(rows)), "checksum": \(sink.isFinite ? 1 : 0)}
        """)
    }
}
