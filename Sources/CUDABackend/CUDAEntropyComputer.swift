import Entropy
import Pipeline
import Synchronization

/// Full-logits entropies on the GPU for the sidecar (`serve --backend cuda|auto`), when the
/// trainer shares a GPU box: the fused softmax-entropy kernel (``CUDAKernels/entropyRows``), one
/// block per row. Requests are serialised on the one device context.
public final class CUDAEntropyComputer: LogitsEntropyComputer {
    private let backend: Mutex<CUDABackend>

    public init(device: Int = 0) throws {
        backend = Mutex(try CUDABackend(device: device))
    }

    public var deviceDescription: String { backend.withLock { $0.deviceDescription } }

    public func entropies(logits: UnsafeRawBufferPointer, dtype: LogitsDType, rows: Int, vocab: Int, temperature: Float) throws -> [Float] {
        let kernel: String
        switch dtype {
        case .fp32: kernel = "rs_entropy_f32"
        case .bf16: kernel = "rs_entropy_bf16"
        case .fp16: kernel = "rs_entropy_f16"
        }
        let out = try backend.withLock {
            try $0.entropies(logits: logits, dtypeBytes: dtype.byteWidth, kernel: kernel, rows: rows, vocab: vocab, temperature: temperature)
        }
        // Same contract as the CPU kernels: a row with NaN or nothing but −inf is a typed error.
        if let bad = out.firstIndex(where: { !$0.isFinite }) { throw EntropyError.nonFinite(row: bad) }
        return out
    }
}

