import Pipeline
import Wire

/// The digests of recent shape replies, each waiting for a trainer's `applied` report
/// (protocol/PROTOCOL.md §`applied`). Owned by the server's I/O thread: not thread-safe.
///
/// Memory is bounded twice: an entry leaves when it is acknowledged, when it is older than the
/// acknowledgement window (counted as unacknowledged), or when more than `capacity` are open
/// (the oldest goes, also counted as unacknowledged).
final class AckRegistry {
    private struct Entry {
        let id: Int
        let sent: WeightDigest
        let at: UInt64
    }

    let windowNanos: UInt64
    let capacity: Int
    /// Open entries by serial number (registration order).
    private var open: [UInt64: Entry] = [:]
    /// Serials of the open entries per reply id (ids chosen by different clients may collide).
    private var serialsByID: [Int: [UInt64]] = [:]
    /// Serials in registration order from `head` on; acknowledged ones are skipped lazily.
    private var order: [UInt64] = []
    private var head = 0
    private var nextSerial: UInt64 = 0

    init(windowSeconds: Double, capacity: Int = 1 << 16) {
        windowNanos = UInt64(max(0, min(windowSeconds, 1e9)) * 1e9)
        self.capacity = max(1, capacity)
    }

    /// Replies sent and not yet acknowledged.
    var pending: Int { open.count }

    /// Records a shape reply just sent; returns how many older entries were evicted unacknowledged.
    func register(id: Int, digest: WeightDigest, now: UInt64) -> Int {
        let serial = nextSerial
        nextSerial += 1
        open[serial] = Entry(id: id, sent: digest, at: now)
        serialsByID[id, default: []].append(serial)
        order.append(serial)
        var evicted = 0
        while open.count > capacity, let s = popOldest() {
            close(s)
            evicted += 1
        }
        return evicted
    }

    /// The verdict on a trainer's report. A match closes the entry it matched; a mismatch closes
    /// the oldest open entry with that id (the trainer did act on it, wrongly).
    func acknowledge(_ report: AppliedReport) -> AppliedVerdict {
        guard let serials = serialsByID[report.replyID], !serials.isEmpty else {
            return AppliedVerdict(.unknown, "no open shape reply has id \(report.replyID) (never sent, acknowledged already, or older than the acknowledgement window)")
        }
        for s in serials {
            if let e = open[s], e.sent.matches(report.weights) {
                close(s)
                return AppliedVerdict(.ok)
            }
        }
        let oldest = serials[0]
        let why = open[oldest].flatMap { $0.sent.mismatch(report.weights) } ?? "differs"
        close(oldest)
        return AppliedVerdict(.mismatch, "reply \(report.replyID): \(why)")
    }

    /// Closes every entry older than the window; returns how many that were.
    func expire(now: UInt64) -> Int {
        var expired = 0
        while head < order.count {
            let s = order[head]
            guard let e = open[s] else { head += 1; continue } // acknowledged already
            guard now >= e.at, now - e.at > windowNanos else { break }
            head += 1
            close(s)
            expired += 1
        }
        compact()
        return expired
    }

    private func popOldest() -> UInt64? {
        while head < order.count {
            let s = order[head]
            head += 1
            if open[s] != nil { return s }
        }
        return nil
    }

    private func close(_ serial: UInt64) {
        guard let e = open.removeValue(forKey: serial) else { return }
        if var list = serialsByID[e.id] {
            list.removeAll { $0 == serial }
            serialsByID[e.id] = list.isEmpty ? nil : list
        }
    }

    /// Drops the consumed prefix of `order` once it is most of the array.
    private func compact() {
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
