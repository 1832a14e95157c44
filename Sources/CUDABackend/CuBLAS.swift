/// cuBLAS (`libcublas.so.12`, system CUDA or the `nvidia-cublas-cu12` wheel) loaded with `dlopen`:
/// the backend's GEMMs. Row-major products are computed as the column-major transpose
/// Cᵀ = op(B)ᵀ·op(A)ᵀ, so no data is moved.
final class CuBLAS: @unchecked Sendable {
    private typealias FCreate = @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias FSgemm = @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>,
                                               UnsafeRawPointer?, Int32, UnsafeRawPointer?, Int32, UnsafePointer<Float>,
                                               UnsafeMutableRawPointer?, Int32) -> Int32
    private typealias FGemmEx = @convention(c) (OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer,
                                                UnsafeRawPointer?, Int32, Int32, UnsafeRawPointer?, Int32, Int32, UnsafeRawPointer,
                                                UnsafeMutableRawPointer?, Int32, Int32, Int32, Int32) -> Int32
    private let lib: DynamicLibrary
    private let sgemm: FSgemm
    private let gemmEx: FGemmEx
    private var handle: OpaquePointer?

    init() throws {
        lib = try DynamicLibrary(candidates: LibrarySearch.candidates(env: "REST_SHAPER_CUBLAS", sonames: ["libcublas.so.12", "libcublas.so.13", "libcublas.so"],
                                                                      wheelSubdir: "cublas"),
                                 what: "cuBLAS (libcublas; pip install nvidia-cublas-cu12)")
        let create: FCreate = try lib.function("cublasCreate_v2")
        sgemm = try lib.function("cublasSgemm_v2")
        gemmEx = try lib.function("cublasGemmEx")
        let status = create(&handle)
        if status != 0 { throw CUDAError.cublas(call: "cublasCreate_v2", code: status) }
    }

    /// Row-major C = alpha·op(A)·op(B) + beta·C with device pointers.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UInt64, lda: Int,
              b: UInt64, ldb: Int, beta: Float, c: UInt64, ldc: Int) throws {
        var al = alpha, be = beta
        let status = sgemm(handle, transB ? 1 : 0, transA ? 1 : 0, Int32(n), Int32(m), Int32(k), &al,
                           UnsafeRawPointer(bitPattern: UInt(b)), Int32(ldb), UnsafeRawPointer(bitPattern: UInt(a)), Int32(lda), &be,
                           UnsafeMutableRawPointer(bitPattern: UInt(c)), Int32(ldc))
        if status != 0 { throw CUDAError.cublas(call: "cublasSgemm_v2", code: status) }
    }

    /// Row-major C (fp32) = alpha·op(A)·op(B) + beta·C with bf16 A and B and fp32 accumulation
    /// (`cublasGemmEx`: CUDA_R_16BF operands, CUDA_R_32F output, CUBLAS_COMPUTE_32F, default algorithm).
    func gemmBF16(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UInt64, lda: Int,
                  b: UInt64, ldb: Int, beta: Float, c: UInt64, ldc: Int) throws {
        let bf16: Int32 = 14, f32: Int32 = 0, compute32F: Int32 = 68, defaultAlgo: Int32 = -1
        var al = alpha, be = beta
        let status = gemmEx(handle, transB ? 1 : 0, transA ? 1 : 0, Int32(n), Int32(m), Int32(k), &al,
                            UnsafeRawPointer(bitPattern: UInt(b)), bf16, Int32(ldb), UnsafeRawPointer(bitPattern: UInt(a)), bf16, Int32(lda), &be,
                            UnsafeMutableRawPointer(bitPattern: UInt(c)), f32, Int32(ldc), compute32F, defaultAlgo)
        if status != 0 { throw CUDAError.cublas(call: "cublasGemmEx", code: status) }
    }
}
