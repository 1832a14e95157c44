import Trainer

/// `--backend cpu|cuda|auto`: which ``TensorBackend`` the trainer and benchmarks use.
public enum BackendKind: String, Sendable, CaseIterable {
    case cpu, cuda, auto
}

/// Builds the backend a command asked for. `cuda` fails with the reason (no driver, no device,
/// missing NVRTC or cuBLAS); `auto` uses CUDA when a device is usable and otherwise logs why
/// and falls back to the CPU.
public enum BackendSelection {
    public static func make(_ kind: BackendKind, log: (String) -> Void = { _ in }) throws -> any TensorBackend {
        switch kind {
        case .cpu:
            return CPUBackend()
        case .cuda:
            let b = try CUDABackend()
            log("backend: cuda on \(b.deviceDescription)")
            return b
        case .auto:
            do {
                let b = try CUDABackend()
                log("backend: cuda on \(b.deviceDescription)")
                return b
            } catch {
                log("backend: cuda unavailable (\(error)); falling back to cpu")
                return CPUBackend()
            }
        }
    }
}
