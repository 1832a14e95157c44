#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking FIFO for a pool of worker threads (pthread mutex + condition variable): the one work
/// queue behind the sidecar's workers and the HTTP front's.
public final class JobQueue<T>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var items: [T] = []
    private var head = 0
    private var closed = false

    public init() { pthread_mutex_init(&mutex, nil); pthread_cond_init(&cond, nil) }
    deinit { pthread_mutex_destroy(&mutex); pthread_cond_destroy(&cond) }

    public func push(_ item: T) {
        pthread_mutex_lock(&mutex)
        items.append(item)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// The next item; nil once the queue is closed and empty.
    public func pop() -> T? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while head == items.count && !closed { pthread_cond_wait(&cond, &mutex) }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return item
    }

    /// Items waiting.
    public var depth: Int {
        pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }
        return items.count - head
    }

    /// Wakes every waiting `pop`; once empty, `pop` returns nil.
    public func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }
}
