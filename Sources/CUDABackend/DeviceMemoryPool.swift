import Foundation

/// Device buffers the CUDA backend reuses instead of freeing: a released tensor's buffer goes to a
/// free list keyed by its size and the next tensor of that size takes it.
///
/// Why: `cuMemFree` waits for the device, and a decode step allocates and drops the same dozen
/// activation buffers every token, so freeing would serialise host and device at every step.
/// Reuse is safe because all work runs in order on one stream: kernels of the buffer's next owner
/// are queued after every kernel of its previous one. When an allocation fails the cached buffers
/// are freed and the allocation retried, so the cache never causes an out-of-memory error.
final class DeviceMemoryPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [UInt64]] = [:]
    private let driver: CUDADriver
    /// Bytes sitting in the free lists.
    private(set) var cachedBytes = 0

    init(driver: CUDADriver) { self.driver = driver }

    /// Sizes are rounded up to 512 bytes so near-equal requests share buffers.
    static func roundedSize(_ bytes: Int) -> Int { max(512, (bytes + 511) / 512 * 512) }

    func allocate(bytes: Int) throws -> UInt64 {
        lock.lock()
        if var list = free[bytes], let p = list.popLast() {
            free[bytes] = list; cachedBytes -= bytes
            lock.unlock()
            return p
        }
        lock.unlock()
        do { return try driver.allocate(bytes: bytes) } catch {
            releaseCached()
            return try driver.allocate(bytes: bytes)
        }
    }

    func recycle(_ p: UInt64, bytes: Int) {
        lock.lock(); free[bytes, default: []].append(p); cachedBytes += bytes; lock.unlock()
    }

    /// Frees every cached buffer.
    func releaseCached() {
        lock.lock()
        let all = free.values.flatMap { $0 }
        free = [:]; cachedBytes = 0
        lock.unlock()
        for p in all { driver.release(p) }
    }
}
