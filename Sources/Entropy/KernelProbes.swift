import CKernels

extension EntropyKernel {
    /// The kernels' vectorised 2^x applied to `x` (inputs below −125 are clamped to −125): exposed
    /// so tests can check its documented error bound (max relative error 1.72e-7 on [−125, 64]).
    public static func exp2Vectorised(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in ck_exp2_batch(i.baseAddress, o.baseAddress, x.count) } }
        return out
    }

    /// The C kernels' scalar widening of one 16-bit pattern (bf16 or fp16) to Float, for tests that
    /// cross-check it against Swift's conversions. fp32 is not a 16-bit type and returns nil.
    public static func kernelWiden(_ bits: UInt16, dtype: LogitsDType) -> Float? {
        switch dtype {
        case .bf16: return ck_bf16_to_f32(bits)
        case .fp16: return ck_f16_to_f32(bits)
        case .fp32: return nil
        }
    }
}
