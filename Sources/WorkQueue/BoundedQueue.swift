import DequeModule
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one work queue of the project: a FIFO between threads, bounded by an element count and by
/// a total cost (e.g. bytes), so nothing queued can grow without limit. Producers choose what
/// happens when it is full: give up at once (``tryPush(_:cost:)``) or wait a bounded time
/// (``push(_:cost:waitingUpToMillis:)``); they never wait forever. Consumers block in ``pop()``
/// (one element) or ``popAll()`` (everything queued, for batched writers) until an element
/// arrives or the queue is closed.
///
/// A pthread mutex and two condition variables (not Swift concurrency): the sidecar's workers and
/// the capture writer are plain POSIX threads that must block.
public final class BoundedQueue<Element>: @unchecked Sendable {
    /// Most elements held at once.
    public let capacity: Int
    /// Most total cost held at once; one element costing more than this is still accepted into
    /// an empty queue, so an oversized item is delayed rather than refused forever.
    public let costLimit: Int
    // Heap-allocated: a pthread object must not move, and Swift promises no stable address for `&property`.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var items = Deque<(Element, Int)>()
    private var totalCost = 0
    private var closed = false

    public init(capacity: Int, costLimit: Int = .max) {
        self.capacity = max(1, capacity)
        self.costLimit = max(0, costLimit)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(notEmpty, nil)
        pthread_cond_init(notFull, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex); mutex.deallocate()
        pthread_cond_destroy(notEmpty); notEmpty.deallocate()
        pthread_cond_destroy(notFull); notFull.deallocate()
    }

    private func hasRoom(for cost: Int) -> Bool {
        items.count < capacity && (items.isEmpty || cost <= costLimit - totalCost)
    }

    private func append(_ e: Element, _ cost: Int) {
        items.append((e, cost))
        totalCost += cost
        pthread_cond_signal(notEmpty)
    }

    /// Adds `e` if there is room; false (and `e` dropped) when the queue is full or closed.
    @discardableResult
    public func tryPush(_ e: Element, cost: Int = 0) -> Bool {
        let c = max(0, cost)
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        guard !closed, hasRoom(for: c) else { return false }
        append(e, c)
        return true
    }

    /// Adds `e`, waiting at most `millis` for room; false when still full, or closed.
    @discardableResult
    public func push(_ e: Element, cost: Int = 0, waitingUpToMillis millis: Int) -> Bool {
        let c = max(0, cost)
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let ns = Int(deadline.tv_nsec) + (max(0, millis) % 1000) * 1_000_000
        deadline.tv_sec += max(0, millis) / 1000 + ns / 1_000_000_000
        deadline.tv_nsec = ns % 1_000_000_000
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        while !closed && !hasRoom(for: c) {
            if pthread_cond_timedwait(notFull, mutex, &deadline) == ETIMEDOUT { break }
        }
        guard !closed, hasRoom(for: c) else { return false }
        append(e, c)
        return true
    }

    /// The next element, waiting for one; nil once the queue is closed and empty.
    public func pop() -> Element? {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        while items.isEmpty && !closed { pthread_cond_wait(notEmpty, mutex) }
        guard let (e, c) = items.popFirst() else { return nil }
        totalCost -= c
        pthread_cond_broadcast(notFull)
        return e
    }

    /// The next element if one is queued (never waits).
    public func tryPop() -> Element? {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        guard let (e, c) = items.popFirst() else { return nil }
        totalCost -= c
        pthread_cond_broadcast(notFull)
        return e
    }

    /// Every queued element, waiting for at least one; empty once the queue is closed and empty.
    public func popAll() -> [Element] {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        while items.isEmpty && !closed { pthread_cond_wait(notEmpty, mutex) }
        let out = items.map(\.0)
        items.removeAll()
        totalCost = 0
        pthread_cond_broadcast(notFull)
        return out
    }

    /// Elements queued now.
    public var count: Int {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return items.count
    }

    /// Total cost queued now.
    public var cost: Int {
        pthread_mutex_lock(mutex); defer { pthread_mutex_unlock(mutex) }
        return totalCost
    }

    /// Refuses further pushes and wakes every waiting thread; queued elements can still be popped.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }
}
