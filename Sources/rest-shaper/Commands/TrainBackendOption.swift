import ArgumentParser
import Trainer
#if canImport(CUDABackend)
import CUDABackend
#endif

/// `--backend cpu|cuda|auto` for `train` and `bench train`. CUDA is used when the executable
/// links the CUDABackend module (`canImport`); otherwise only `cpu` (and `auto` → cpu) exist.
enum TrainBackendOption {
    static func make(_ name: String, log: (String) -> Void) throws -> any TensorBackend {
        #if canImport(CUDABackend)
        guard let kind = BackendKind(rawValue: name) else { throw ValidationError("--backend must be cpu, cuda or auto") }
        return try BackendSelection.make(kind, log: log)
        #else
        switch name {
        case "cpu": return CPUBackend()
        case "auto": log("backend: cuda not linked into this build; using cpu"); return CPUBackend()
        case "cuda": throw ValidationError("backend 'cuda' is not linked into this build")
        default: throw ValidationError("--backend must be cpu, cuda or auto")
        }
        #endif
    }
}
