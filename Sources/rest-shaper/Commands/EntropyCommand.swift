import ArgumentParser
import Entropy

/// `rest-shaper entropy IN.npy OUT.npy`: per-row entropy (nats) of a logits matrix [N, V].
struct EntropyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entropy",
        abstract: "Per-row entropy of logits in a .npy file (float32/float16 [N,V], or raw bf16 with --dtype bf16 --vocab V); writes float32 [N] .npy."
    )

    @Argument(help: "Input logits: .npy float32 or float16 [N, V] in C order, or a raw little-endian file with --dtype and --vocab.")
    var input: String
    @Argument(help: "Output .npy (float32 [N]).")
    var output: String
    @Option(help: "Sampling temperature τ (entropy of softmax(x/τ)).")
    var temperature: Float = 1
    @Option(help: "Threads (0 = all cores).")
    var threads: Int = 0
    @Option(help: "Element type: bf16 for raw bf16 input (or a .npy with a 2-byte dtype); fp16/fp32 for raw files.")
    var dtype: DTypeArgument?
    @Option(help: "Row length of a raw input file.")
    var vocab: Int?
    @Option(help: "Kernel: auto (skipping AVX2), plain (AVX2 without skip) or portable (float64).")
    var kernel: KernelArgument = .auto
    @Option(name: .customLong("repeat"), help: "Run the kernel this many times and report the fastest (with --timing).")
    var repeats: Int = 1
    @Flag(help: "Print a JSON line with the kernel's time (excluding file I/O) to standard output.")
    var timing = false

    func validate() throws {
        if vocab != nil && dtype == nil { throw ValidationError("--vocab needs --dtype") }
        if repeats < 1 { throw ValidationError("--repeat must be ≥ 1") }
        if threads < 0 { throw ValidationError("--threads must be ≥ 0") }
    }

    func run() async throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let file = try LogitsFile(path: input, dtype: dtype?.dtype, vocab: vocab)
        var out = [Float](repeating: 0, count: file.rows)
        var best = Double.infinity
        for _ in 0..<repeats {
            let k0 = clock.now
            try out.withUnsafeMutableBufferPointer { buf in
                try EntropyKernel.entropies(logits: file.bytes, dtype: file.dtype, rows: file.rows, vocab: file.vocab,
                                            temperature: temperature, threads: threads, kernel: kernel.variant, into: buf)
            }
            best = min(best, entropySeconds(clock.now - k0))
        }
        try Npy.writeFloat32(out, shape: [file.rows], to: output)
        if timing {
            let total = entropySeconds(clock.now - t0)
            print("{\"rows\": \(file.rows), \"vocab\": \(file.vocab), \"dtype\": \"\(file.dtype.rawValue)\", \"kernel\": \"\(kernel.rawValue)\", \"kernel_seconds\": \(best), \"total_seconds\": \(total), \"gb_per_s\": \(Double(file.bytes.count) / best / 1e9)}")
        }
    }
}

/// `--dtype` values.
enum DTypeArgument: String, ExpressibleByArgument, CaseIterable {
    case fp32, float32, bf16, bfloat16, fp16, float16
    var dtype: LogitsDType {
        switch self {
        case .fp32, .float32: return .fp32
        case .bf16, .bfloat16: return .bf16
        case .fp16, .float16: return .fp16
        }
    }
}

/// `--kernel` values.
enum KernelArgument: String, ExpressibleByArgument, CaseIterable {
    case auto, plain, portable
    var variant: EntropyKernel.Variant {
        switch self {
        case .auto: return .automatic
        case .plain: return .plain
        case .portable: return .portable
        }
    }
}

/// A duration in seconds.
func entropySeconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
