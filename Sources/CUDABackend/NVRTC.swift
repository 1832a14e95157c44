/// The CUDA run-time compiler, loaded with `dlopen`: turns the kernels' CUDA C source into PTX.
/// Works without a GPU and without CUDA headers (the kernels include none).
public final class NVRTC: @unchecked Sendable {
    private typealias CreateProgram = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafePointer<CChar>, UnsafePointer<CChar>?,
                                                      Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    private typealias CompileProgram = @convention(c) (OpaquePointer?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    private typealias GetSize = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>) -> Int32
    private typealias GetText = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>) -> Int32
    private typealias Destroy = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias ErrorString = @convention(c) (Int32) -> UnsafePointer<CChar>?
    private typealias Version = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32

    public let libraryPath: String
    private let lib: DynamicLibrary
    private let create: CreateProgram, compile: CompileProgram, ptxSize: GetSize, ptx: GetText
    private let logSize: GetSize, log: GetText, destroy: Destroy, errorString: ErrorString, version: Version

    /// Loads libnvrtc (see ``LibrarySearch``; `REST_SHAPER_NVRTC` names it explicitly).
    public init() throws {
        lib = try DynamicLibrary(candidates: LibrarySearch.candidates(env: "REST_SHAPER_NVRTC",
                                                                      sonames: ["libnvrtc.so.12", "libnvrtc.so.13", "libnvrtc.so"],
                                                                      wheelSubdir: "cuda_nvrtc"),
                                 what: "NVRTC (libnvrtc; pip install nvidia-cuda-nvrtc-cu12)")
        libraryPath = lib.path
        create = try lib.function("nvrtcCreateProgram")
        compile = try lib.function("nvrtcCompileProgram")
        ptxSize = try lib.function("nvrtcGetPTXSize")
        ptx = try lib.function("nvrtcGetPTX")
        logSize = try lib.function("nvrtcGetProgramLogSize")
        log = try lib.function("nvrtcGetProgramLog")
        destroy = try lib.function("nvrtcDestroyProgram")
        errorString = try lib.function("nvrtcGetErrorString")
        version = try lib.function("nvrtcVersion")
    }

    /// NVRTC's (major, minor) version.
    public var versionNumber: (Int, Int) {
        var a: Int32 = 0, b: Int32 = 0
        _ = version(&a, &b)
        return (Int(a), Int(b))
    }

    /// Compiles `source` to PTX for a virtual architecture such as `compute_80`.
    public func compileToPTX(source: String, name: String = "rest_shaper_kernels.cu", arch: String) throws -> String {
        var prog: OpaquePointer?
        try check("nvrtcCreateProgram", create(&prog, source, name, 0, nil, nil))
        defer { _ = destroy(&prog) }
        // No fast-math: the kernels must agree with the CPU backend to fp32 rounding.
        let options = ["--gpu-architecture=\(arch)", "--std=c++17", "-default-device"]
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let status = cOptions.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer { opts in
            compile(prog, Int32(opts.count), opts.baseAddress)
        }
        if status != 0 {
            var n = 0
            _ = logSize(prog, &n)
            var buf = [CChar](repeating: 0, count: max(n, 1))
            _ = log(prog, &buf)
            throw CUDAError.compile(arch: arch, log: String(cString: buf))
        }
        var n = 0
        try check("nvrtcGetPTXSize", ptxSize(prog, &n))
        var buf = [CChar](repeating: 0, count: max(n, 1))
        try check("nvrtcGetPTX", ptx(prog, &buf))
        return String(cString: buf)
    }

    private func check(_ call: String, _ code: Int32) throws {
        guard code != 0 else { return }
        let msg = errorString(code).map { String(cString: $0) } ?? "unknown"
        throw CUDAError.nvrtc(call: call, code: code, message: msg)
    }
}

#if canImport(Glibc)
import Glibc
#endif
