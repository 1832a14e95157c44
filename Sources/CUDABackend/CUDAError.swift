/// Errors of the CUDA backend: missing libraries or device, compile errors with NVRTC's log,
/// and failing driver / cuBLAS calls with their codes.
public enum CUDAError: Error, CustomStringConvertible {
    case libraryNotFound(String, [String])
    case missingSymbol(String, String)
    case noDevice(String)
    case driver(call: String, code: Int32, message: String)
    case nvrtc(call: String, code: Int32, message: String)
    case compile(arch: String, log: String)
    case cublas(call: String, code: Int32)

    public var description: String {
        switch self {
        case .libraryNotFound(let what, let tried):
            return "\(what) not found (tried: \(tried.prefix(6).joined(separator: "; ")))"
        case .missingSymbol(let s, let p): return "symbol \(s) missing in \(p)"
        case .noDevice(let m): return "no usable CUDA device: \(m)"
        case .driver(let call, let code, let m): return "\(call) failed: CUDA error \(code) (\(m))"
        case .nvrtc(let call, let code, let m): return "\(call) failed: NVRTC error \(code) (\(m))"
        case .compile(let arch, let log): return "NVRTC compile for \(arch) failed:\n\(log)"
        case .cublas(let call, let code): return "\(call) failed: cuBLAS status \(code)"
        }
    }
}
