import CKernels
import COpenBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// OpenBLAS's kernel set ("core"), chosen so users never have to know about it.
///
/// A `DYNAMIC_ARCH` OpenBLAS picks its core once, when the library loads, from CPUID. A release
/// that does not know the CPU falls back to a generic SSE3 core without a word: Debian's 0.3.21 on
/// a Sapphire Rapids Xeon runs `sgemm_kernel_PRESCOTT` and the trainer 3× slower. Since the core is
/// fixed at load time, ``prepareProcess(log:)`` re-executes the process with `OPENBLAS_CORETYPE`
/// naming a core the CPU can run, checks in the new process that the library took the name and
/// that a small GEMM matches a naive reference (``selfCheck(gemm:)``), and otherwise tries the next
/// candidate or returns to the library's own choice, logging why.
///
/// `REST_SHAPER_BLAS_CORE` overrides the automatic choice: `keep` (never re-execute), `auto` (the
/// default; also replaces an `OPENBLAS_CORETYPE` set by the user), or a core name. Without it, an
/// `OPENBLAS_CORETYPE` set by the user is respected.
public enum BLASCore {
    /// The widest vector ISA a core's kernels (or a CPU) use.
    public enum ISA: Int, Comparable, Sendable, Codable {
        case sse = 0, avx = 1, avx2 = 2, avx512 = 3
        public static func < (a: ISA, b: ISA) -> Bool { a.rawValue < b.rawValue }
    }

    /// What CPUID says about the machine.
    public struct CPU: Sendable, Equatable {
        /// The CPU maker, which decides the OpenBLAS core names that apply.
        public enum Vendor: Sendable, Equatable { case intel, amd, other }
        public var isa: ISA
        public var bf16: Bool
        public var vendor: Vendor
        public init(isa: ISA, bf16: Bool, vendor: Vendor) { self.isa = isa; self.bf16 = bf16; self.vendor = vendor }

        /// This machine.
        public static var current: CPU {
            let isa: ISA = ck_cpu_has_avx512() != 0 ? .avx512 : ck_cpu_has_avx2_fma() != 0 ? .avx2 : .sse
            let vendor: Vendor = switch ck_cpu_vendor() { case 1: .intel; case 2: .amd; default: .other }
            return CPU(isa: isa, bf16: ck_cpu_has_avx512_bf16() != 0, vendor: vendor)
        }
    }

    /// The ISA of an OpenBLAS x86-64 core name (as `openblas_get_corename()` spells it), or nil
    /// for a name this table does not know (such a core is left alone).
    public static func isa(ofCore name: String) -> ISA? {
        switch name.lowercased() {
        case "katmai", "coppermine", "northwood", "prescott", "banias", "core2", "penryn", "dunnington", "nehalem",
             "atom", "athlon", "opteron", "opteron_sse3", "barcelona", "bobcat", "nano":
            return .sse
        case "sandybridge", "bulldozer", "piledriver", "steamroller":
            return .avx
        case "haswell", "zen", "excavator":
            return .avx2
        case "skylakex", "cooperlake", "sapphirerapids":
            return .avx512
        default:
            return nil
        }
    }

    /// Cores to try, best first, on a CPU whose library core is generic. Measured (2026-12, one run
    /// each, single-thread GEMM of the trainer's shapes): on an AMD EPYC (Zen 4, AVX-512 + BF16)
    /// Cooperlake, SkylakeX, Haswell and Zen were within 5 % of each other; on an AVX-512 Xeon
    /// (NATIVE-NOTES.md) SkylakeX and Haswell were 2.2–2.5× the generic core. Debian's 0.3.21 has
    /// no `SapphireRapids` core (the name is refused), so AVX-512 + BF16 CPUs get Cooperlake.
    public static func candidates(for cpu: CPU) -> [String] {
        switch cpu.isa {
        case .avx512: return cpu.bf16 ? ["Cooperlake", "SkylakeX", "Haswell"] : ["SkylakeX", "Haswell"]
        case .avx2: return cpu.vendor == .amd ? ["Zen", "Haswell"] : ["Haswell", "Zen"]
        case .sse, .avx: return []
        }
    }

    /// What to do with the core the library loaded.
    public enum Decision: Equatable, Sendable {
        /// Keep the loaded core (the reason is logged when it is not the usual case).
        case keep(reason: String)
        /// Re-execute with each of these cores in turn until one loads and passes the self-check.
        case select([String])
    }

    /// The choice for a process whose library loaded `loadedCore` on `cpu`. `request` is
    /// `REST_SHAPER_BLAS_CORE`, `userCoreType` the `OPENBLAS_CORETYPE` the process started with.
    public static func decide(loadedCore: String, cpu: CPU, request: String?, userCoreType: String?) -> Decision {
        let name = request ?? "", req = name.lowercased()
        if req == "keep" { return .keep(reason: "REST_SHAPER_BLAS_CORE=keep") }
        if !req.isEmpty, req != "auto" {
            return req == loadedCore.lowercased() ? .keep(reason: "") : .select([name])
        }
        if req.isEmpty, let user = userCoreType, !user.isEmpty {
            return .keep(reason: "OPENBLAS_CORETYPE=\(user) set by the user")
        }
        guard let loaded = isa(ofCore: loadedCore) else {
            return .keep(reason: "core \(loadedCore) is not in the table of known cores")
        }
        guard loaded < .avx2, cpu.isa >= .avx2 else { return .keep(reason: "") }
        let list = candidates(for: cpu).filter { $0.lowercased() != loadedCore.lowercased() }
        return list.isEmpty ? .keep(reason: "") : .select(list)
    }

    /// How the process's core was chosen (`bench train` prints it).
    public struct Outcome: Sendable, Codable, Equatable {
        /// The core in use (`openblas_get_corename()`).
        public var core: String
        /// The core the library chose on its own when the process started.
        public var libraryChoice: String
        /// `library` (kept), `selected` (re-executed with a better core), `fallback` (tried and
        /// returned to the library's choice), `user` (OPENBLAS_CORETYPE or REST_SHAPER_BLAS_CORE).
        public var action: String
        /// What happened, one line per step (empty in the usual case).
        public var notes: [String]
        /// Largest error of the GEMM self-check relative to its bound (≤ 1 passes).
        public var selfCheckError: Double
    }

    /// The core OpenBLAS loaded in this process.
    public static var loadedCore: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(decoding: UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self),
                                                   count: strlen(p)), as: UTF8.self)
    }

    // Variables one process hands to the next across re-executions.
    static let stateOriginal = "REST_SHAPER_BLAS_ORIGINAL"   // the OPENBLAS_CORETYPE at the first start ("" = unset)
    static let stateLibrary = "REST_SHAPER_BLAS_LIBRARY"     // the library's own choice at the first start
    static let stateQueue = "REST_SHAPER_BLAS_QUEUE"         // candidates not yet tried, comma-separated
    static let stateNotes = "REST_SHAPER_BLAS_NOTES"         // notes so far, separated by " | "
    static let stateDone = "REST_SHAPER_BLAS_DONE"           // "1": the last execution, no more candidates

    /// The outcome for this process, computed once on first use by ``prepareProcess(log:)`` with
    /// notes going to standard error. Touch it first thing in commands that use OpenBLAS.
    public static let processOutcome: Outcome = prepareProcess { line in
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count) }
    }

    /// Chooses the core for this process; call it first thing in commands that use OpenBLAS.
    /// May replace the process (`execv` of `/proc/self/exe` with the same arguments) one or more
    /// times; returns in the process that keeps its core. `log` receives one line per notable step.
    public static func prepareProcess(log: (String) -> Void) -> Outcome {
        let env = { (k: String) -> String? in getenv(k).map { String(cString: $0) } }
        let core = loadedCore
        let request = env("REST_SHAPER_BLAS_CORE")
        let explicit = request.map { !["", "auto", "keep"].contains($0.lowercased()) } ?? false
        if let original = env(stateOriginal) {
            // A re-executed process: did the requested core load and pass?
            let library = env(stateLibrary) ?? "unknown"
            var notes = (env(stateNotes) ?? "").split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let requested = env("OPENBLAS_CORETYPE") ?? ""
            let check = selfCheck()
            if env(stateDone) == "1" {
                clearState()
                notes.append("kept the library's choice \(core)")
                let o = Outcome(core: core, libraryChoice: library, action: "fallback", notes: notes, selfCheckError: check)
                o.notes.forEach { log("OpenBLAS: " + $0) }
                if check > 1 { log("OpenBLAS: warning: GEMM self-check of \(core) failed (error \(check) × bound)") }
                return o
            }
            if core.lowercased() == requested.lowercased(), check <= 1 {
                clearState()
                notes.append("selected \(core) (GEMM self-check passed)")
                let o = Outcome(core: core, libraryChoice: library, action: explicit ? "user" : "selected",
                                notes: notes, selfCheckError: check)
                o.notes.forEach { log("OpenBLAS: " + $0) }
                return o
            }
            notes.append(core.lowercased() != requested.lowercased()
                         ? "the library refused core \(requested) (loaded \(core))"
                         : "\(core) failed the GEMM self-check (error \(check) × bound)")
            let queue = (env(stateQueue) ?? "").split(separator: ",").map(String.init)
            reexec(next: queue.first, rest: Array(queue.dropFirst()), original: original, library: library, notes: notes, log: log)
            // Only reached when exec failed: keep what is loaded.
            clearState()
            return Outcome(core: core, libraryChoice: library, action: "fallback", notes: notes + ["re-execution failed"], selfCheckError: check)
        }
        let user = env("OPENBLAS_CORETYPE")
        switch decide(loadedCore: core, cpu: .current, request: request, userCoreType: user) {
        case .keep(let reason):
            let check = selfCheck()
            var notes = reason.isEmpty ? [] : ["kept \(core): \(reason)"]
            if check > 1 { notes.append("warning: GEMM self-check of \(core) failed (error \(check) × bound)") }
            notes.forEach { log("OpenBLAS: " + $0) }
            return Outcome(core: core, libraryChoice: core, action: explicit || (request == nil && user != nil) ? "user" : "library",
                           notes: notes, selfCheckError: check)
        case .select(let list):
            let note = explicit ? "REST_SHAPER_BLAS_CORE=\(request ?? "") requested (the library chose \(core))"
                : "the library chose \(core) (\(isa(ofCore: core).map { "\($0)" } ?? "unknown ISA")) on a CPU with \(CPU.current.isa)"
            reexec(next: list.first, rest: Array(list.dropFirst()), original: user ?? "", library: core, notes: [note], log: log)
            return Outcome(core: core, libraryChoice: core, action: "library", notes: [note, "re-execution failed"], selfCheckError: selfCheck())
        }
    }

    /// Replaces the process with itself, `OPENBLAS_CORETYPE` = `next` (or the original value when
    /// no candidate is left). Returns only if `execv` fails.
    private static func reexec(next: String?, rest: [String], original: String, library: String, notes: [String], log: (String) -> Void) {
        #if os(Linux)
        setenv(stateOriginal, original, 1)
        setenv(stateLibrary, library, 1)
        setenv(stateQueue, rest.joined(separator: ","), 1)
        setenv(stateNotes, notes.joined(separator: " | "), 1)
        if let next {
            setenv("OPENBLAS_CORETYPE", next, 1)
        } else {
            if original.isEmpty { unsetenv("OPENBLAS_CORETYPE") } else { setenv("OPENBLAS_CORETYPE", original, 1) }
            setenv(stateDone, "1", 1)
        }
        let args = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        log("OpenBLAS: could not re-execute to change the core: \(String(cString: strerror(errno)))")
        for p in argv { free(p) }
        #endif
        clearState()
    }

    private static func clearState() {
        for k in [stateOriginal, stateLibrary, stateQueue, stateNotes, stateDone] { unsetenv(k) }
    }

    /// A GEMM in the shape of `cblas_sgemm` (row-major).
    public typealias GEMM = @Sendable (_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) -> Void

    /// OpenBLAS's `cblas_sgemm`.
    public static let openBLAS: GEMM = { ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Runs `gemm` on odd-sized matrices (every transpose combination, edge tiles, α and β ≠ 1,
    /// and products big enough for OpenBLAS, or the pool, to split by rows and by columns) and compares with a float64 reference.
    /// Returns the largest |c − ref| / bound, bound = 1e-5·(Σ|α·a·b| + |β·c₀|) + 1e-30 per
    /// element: ≤ 1 passes (float32 accumulation of k ≤ 200 terms stays far inside it); a wrong
    /// kernel (garbage, wrong stride, missing tile) is off by orders of magnitude.
    public static func selfCheck(gemm: GEMM = openBLAS) -> Double {
        var worst = 0.0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        for (m, n, k, ta, tb) in [(67, 45, 131, false, true), (33, 70, 17, true, false), (9, 13, 200, true, true),
                                  (48, 31, 64, false, false), (160, 144, 128, false, true), (40, 300, 200, true, true)] {
            let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
            let c0 = (0..<(m * n)).map { _ in next() }
            var c = c0
            let (alpha, beta): (Float, Float) = (0.75, 0.5)
            let lda = ta ? m : k, ldb = tb ? k : n
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        gemm(ta, tb, m, n, k, alpha, pa.baseAddress!, lda, pb.baseAddress!, ldb, beta, pc.baseAddress!, n)
                    }
                }
            }
            for i in 0..<m {
                for j in 0..<n {
                    var ref = 0.0, mag = 0.0
                    for p in 0..<k {
                        let av = Double(ta ? a[p * lda + i] : a[i * lda + p]), bv = Double(tb ? b[j * ldb + p] : b[p * ldb + j])
                        ref += av * bv; mag += abs(av * bv)
                    }
                    ref = Double(alpha) * ref + Double(beta) * Double(c0[i * n + j])
                    let bound = 1e-5 * (Double(alpha) * mag + abs(Double(beta) * Double(c0[i * n + j]))) + 1e-30
                    let err = abs(Double(c[i * n + j]) - ref) / bound
                    worst = max(worst, err.isNaN ? .infinity : err)
                }
            }
        }
        return worst
    }
}
