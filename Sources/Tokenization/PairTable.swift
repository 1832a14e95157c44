/// BPE merges as an open-addressing table: `(left id, right id)` → `(rank, merged id)`.
/// Lower rank merges first; ties go to the leftmost pair (as HF `tokenizers` and tiktoken do).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    static let empty = UInt64.max
    /// Returned when a pair does not merge.
    static let noRank = UInt32.max

    init(expectedCount: Int) {
        var cap = 16
        while cap < expectedCount * 2 { cap <<= 1 }
        keys = [UInt64](repeating: PairTable.empty, count: cap)
        values = [UInt64](repeating: 0, count: cap)
        mask = cap - 1
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Insert or overwrite (a later duplicate merge wins, like HF's HashMap construction).
    mutating func insert(_ a: Int32, _ b: Int32, rank: UInt32, merged: Int32) {
        let k = PairTable.key(a, b)
        var h = PairTable.slot(k, mask)
        while keys[h] != PairTable.empty && keys[h] != k { h = (h + 1) & mask }
        keys[h] = k
        values[h] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    /// Runs `body` with a lookup function valid for the duration of the call (no copies, no ARC traffic).
    @inline(__always)
    func withLookup<R>(_ body: (PairLookup) throws -> R) rethrows -> R {
        try keys.withUnsafeBufferPointer { k in
            try values.withUnsafeBufferPointer { v in
                try body(PairLookup(keys: k, values: v, mask: mask))
            }
        }
    }
}

/// Read-only view of a `PairTable` used inside the BPE loop.
struct PairLookup {
    let keys: UnsafeBufferPointer<UInt64>
    let values: UnsafeBufferPointer<UInt64>
    let mask: Int

    /// `(rank, merged)` or `(PairTable.noRank, -1)`.
    @inline(__always)
    func get(_ a: Int32, _ b: Int32) -> (rank: UInt32, merged: Int32) {
        let k = PairTable.key(a, b)
        var h = PairTable.slot(k, mask)
        while true {
            let x = keys[h]
            if x == k {
                let v = values[h]
                return (UInt32(truncatingIfNeeded: v >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: v)))
            }
            if x == PairTable.empty { return (PairTable.noRank, -1) }
            h = (h &+ 1) & mask
        }
    }
}
