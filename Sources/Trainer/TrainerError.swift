/// Errors of the trainer: bad configs, missing or malformed files, shape mismatches.
public enum TrainerError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case io(String)
    case safetensors(String)
    case missingTensor(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case data(String)
    case tokenizer(String)
    /// The memory plan does not fit (the message says by how much and what would shrink it).
    case insufficientMemory(String)

    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid config: \(m)"
        case .io(let m): return "I/O error: \(m)"
        case .safetensors(let m): return "safetensors: \(m)"
        case .missingTensor(let n): return "checkpoint has no tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): return "tensor '\(n)' has shape \(f), expected \(e)"
        case .data(let m): return "data: \(m)"
        case .tokenizer(let m): return "tokenizer: \(m)"
        case .insufficientMemory(let m): return "not enough memory: \(m)"
        }
    }
}
