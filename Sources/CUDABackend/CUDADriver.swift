#if canImport(Glibc)
import Glibc
#endif

/// The CUDA driver API (`libcuda.so.1`, installed with the NVIDIA driver), loaded with `dlopen`.
/// Only the calls the backend needs; every one is checked and turned into ``CUDAError``.
final class CUDADriver: @unchecked Sendable {
    typealias Ptr = UInt64  // CUdeviceptr
    private typealias FInit = @convention(c) (UInt32) -> Int32
    private typealias FCount = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    private typealias FDeviceGet = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias FAttr = @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Int32
    private typealias FName = @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Int32
    private typealias FRetain = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> Int32
    private typealias FSetCurrent = @convention(c) (OpaquePointer?) -> Int32
    private typealias FModuleLoad = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer) -> Int32
    private typealias FGetFunction = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>) -> Int32
    private typealias FAlloc = @convention(c) (UnsafeMutablePointer<Ptr>, Int) -> Int32
    private typealias FFree = @convention(c) (Ptr) -> Int32
    private typealias FHtoD = @convention(c) (Ptr, UnsafeRawPointer, Int) -> Int32
    private typealias FDtoH = @convention(c) (UnsafeMutableRawPointer, Ptr, Int) -> Int32
    private typealias FDtoD = @convention(c) (Ptr, Ptr, Int) -> Int32
    private typealias FMemset = @convention(c) (Ptr, UInt32, Int) -> Int32
    private typealias FLaunch = @convention(c) (OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                                                UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32
    private typealias FSync = @convention(c) () -> Int32
    private typealias FErr = @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32
    private typealias FMemInfo = @convention(c) (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> Int32

    private let lib: DynamicLibrary
    private let cuInit: FInit, deviceCount: FCount, deviceGet: FDeviceGet, attribute: FAttr, deviceName: FName
    private let retain: FRetain, setCurrent: FSetCurrent, moduleLoad: FModuleLoad, getFunction: FGetFunction
    private let alloc: FAlloc, free: FFree, htod: FHtoD, dtoh: FDtoH, dtod: FDtoD, memset: FMemset
    private let launch: FLaunch, sync: FSync, errorString: FErr, memInfo: FMemInfo
    /// The device's primary context; the driver keeps "current context" per thread, so every
    /// entry point binds it first (the backend may be called from any thread).
    private var context: OpaquePointer?

    init() throws {
        lib = try DynamicLibrary(candidates: LibrarySearch.candidates(env: "REST_SHAPER_LIBCUDA", sonames: ["libcuda.so.1", "libcuda.so"],
                                                                      wheelSubdir: "cuda_runtime"),
                                 what: "CUDA driver (libcuda.so.1, from the NVIDIA driver)")
        cuInit = try lib.function("cuInit"); deviceCount = try lib.function("cuDeviceGetCount")
        deviceGet = try lib.function("cuDeviceGet"); attribute = try lib.function("cuDeviceGetAttribute")
        deviceName = try lib.function("cuDeviceGetName")
        retain = try lib.function("cuDevicePrimaryCtxRetain"); setCurrent = try lib.function("cuCtxSetCurrent")
        moduleLoad = try lib.function("cuModuleLoadData"); getFunction = try lib.function("cuModuleGetFunction")
        alloc = try lib.function("cuMemAlloc_v2"); free = try lib.function("cuMemFree_v2")
        htod = try lib.function("cuMemcpyHtoD_v2"); dtoh = try lib.function("cuMemcpyDtoH_v2")
        dtod = try lib.function("cuMemcpyDtoD_v2"); memset = try lib.function("cuMemsetD32_v2")
        launch = try lib.function("cuLaunchKernel"); sync = try lib.function("cuCtxSynchronize")
        errorString = try lib.function("cuGetErrorString")
        memInfo = try lib.function("cuMemGetInfo_v2")
        try check("cuInit", cuInit(0))
    }

    func check(_ call: String, _ code: Int32) throws {
        guard code != 0 else { return }
        var msg: UnsafePointer<CChar>?
        _ = errorString(code, &msg)
        throw CUDAError.driver(call: call, code: code, message: msg.map { String(cString: $0) } ?? "unknown")
    }

    /// Makes device `ordinal`'s primary context current; returns (name, compute capability).
    func open(device ordinal: Int32) throws -> (name: String, major: Int, minor: Int) {
        var n: Int32 = 0
        try check("cuDeviceGetCount", deviceCount(&n))
        guard n > ordinal else { throw CUDAError.noDevice("\(n) device(s) visible, wanted #\(ordinal)") }
        var dev: Int32 = 0
        try check("cuDeviceGet", deviceGet(&dev, ordinal))
        var ctx: OpaquePointer?
        try check("cuDevicePrimaryCtxRetain", retain(&ctx, dev))
        context = ctx
        try bind()
        var major: Int32 = 0, minor: Int32 = 0
        try check("cuDeviceGetAttribute", attribute(&major, 75, dev))  // COMPUTE_CAPABILITY_MAJOR
        try check("cuDeviceGetAttribute", attribute(&minor, 76, dev))  // COMPUTE_CAPABILITY_MINOR
        var name = [CChar](repeating: 0, count: 256)
        _ = deviceName(&name, 256, dev)
        return (String(cString: name), Int(major), Int(minor))
    }

    /// Makes the device's context current on the calling thread (a cheap thread-local store).
    func bind() throws {
        try check("cuCtxSetCurrent", setCurrent(context))
    }

    func loadModule(ptx: String) throws -> OpaquePointer? {
        var module: OpaquePointer?
        try ptx.withCString { p in try check("cuModuleLoadData", moduleLoad(&module, p)) }
        return module
    }

    func function(_ module: OpaquePointer?, _ name: String) throws -> OpaquePointer? {
        var f: OpaquePointer?
        try check("cuModuleGetFunction(\(name))", getFunction(&f, module, name))
        return f
    }

    func allocate(bytes: Int) throws -> Ptr {
        var p: Ptr = 0
        try check("cuMemAlloc", alloc(&p, max(bytes, 4)))
        return p
    }
    func release(_ p: Ptr) { _ = setCurrent(context); _ = free(p) }
    func upload(_ src: UnsafeRawPointer, to dst: Ptr, bytes: Int) throws { if bytes > 0 { try check("cuMemcpyHtoD", htod(dst, src, bytes)) } }
    func download(_ src: Ptr, to dst: UnsafeMutableRawPointer, bytes: Int) throws { if bytes > 0 { try check("cuMemcpyDtoH", dtoh(dst, src, bytes)) } }
    func copy(_ src: Ptr, to dst: Ptr, bytes: Int) throws { if bytes > 0 { try check("cuMemcpyDtoD", dtod(dst, src, bytes)) } }
    func zero(_ p: Ptr, words: Int) throws { if words > 0 { try check("cuMemsetD32", memset(p, 0, words)) } }
    func synchronize() throws { try check("cuCtxSynchronize", sync()) }
    /// Free and total device memory of the current context's device (bytes).
    func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try check("cuMemGetInfo", memInfo(&free, &total))
        return (free, total)
    }

    /// Launches `f` on the default stream with the given packed arguments.
    func launch(_ f: OpaquePointer?, name: String, grid: Int, block: Int, sharedBytes: Int = 0, args: [KernelArgument]) throws {
        guard grid > 0 else { return }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 8 * max(args.count, 1), alignment: 8)
        defer { storage.deallocate() }
        var pointers: [UnsafeMutableRawPointer?] = []
        for (i, a) in args.enumerated() {
            let slot = storage + 8 * i
            switch a {
            case .pointer(let p): slot.storeBytes(of: p, as: UInt64.self)
            case .int(let v): slot.storeBytes(of: Int64(v), as: Int64.self)
            case .float(let v): slot.storeBytes(of: v, as: Float.self)
            }
            pointers.append(slot)
        }
        try pointers.withUnsafeMutableBufferPointer { ptrs in
            try check("cuLaunchKernel(\(name))", launch(f, UInt32(grid), 1, 1, UInt32(block), 1, 1, UInt32(sharedBytes), nil, ptrs.baseAddress, nil))
        }
    }
}

/// One kernel argument: a device pointer, a `long` or a `float` (what the kernels take).
enum KernelArgument {
    case pointer(UInt64)
    case int(Int)
    case float(Float)
}
