import ArgumentParser
import CUDABackend
import Trainer

/// `--backend cpu|cuda|auto` for `train` and `bench train` (see ``BackendSelection``: `cuda`
/// fails with the reason when no device is usable, `auto` logs it and falls back to the CPU).
/// Every command that builds a backend first settles OpenBLAS's core (``BLASCore``), which may
/// re-execute the process.
enum TrainBackendOption {
    static func make(_ name: String, log: (String) -> Void) throws -> any TensorBackend {
        _ = BLASCore.processOutcome
        guard let kind = BackendKind(rawValue: name) else { throw ValidationError("--backend must be cpu, cuda or auto") }
        return try BackendSelection.make(kind, log: log)
    }
}

extension Precision: ExpressibleByArgument {}
