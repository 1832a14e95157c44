/// Reusable buffers for one encode call (never shared between threads).
struct BPEScratch {
    var ids: [Int32] = []
    var ranks: [UInt32] = []
    var merged: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap: [HeapEntry] = []

    struct HeapEntry {
        /// `rank << 32 | position`: lower merges first, leftmost on ties.
        var key: UInt64
        var merged: Int32
    }
}

/// Byte-pair encoding of one pre-token given the merge table (HF `Word::merge_all` semantics:
/// repeatedly apply the lowest-rank merge, leftmost first).
enum BPE {
    /// Pieces up to this many bytes use the quadratic array scan (fast for short words);
    /// longer ones use a heap, like HF.
    static let heapThreshold = 48

    /// Appends the ids of `p[0..<n]` to `out`. `byteIDs` maps each byte to its single-byte token.
    @inline(__always)
    static func encode(_ p: UnsafePointer<UInt8>, _ n: Int, byteIDs: UnsafeBufferPointer<Int32>,
                       pairs: PairLookup, scratch: inout BPEScratch, out: inout [Int32], forceHeap: Bool = false) {
        if n == 1 { out.append(byteIDs[Int(p[0])]); return }
        if n <= heapThreshold && !forceHeap {
            arrayMerge(p, n, byteIDs: byteIDs, pairs: pairs, scratch: &scratch, out: &out)
        } else {
            heapMerge(p, n, byteIDs: byteIDs, pairs: pairs, scratch: &scratch, out: &out)
        }
    }

    static func arrayMerge(_ p: UnsafePointer<UInt8>, _ n: Int, byteIDs: UnsafeBufferPointer<Int32>,
                           pairs: PairLookup, scratch: inout BPEScratch, out: inout [Int32]) {
        if scratch.ids.count < n {
            scratch.ids = [Int32](repeating: 0, count: n * 2)
            scratch.ranks = [UInt32](repeating: 0, count: n * 2)
            scratch.merged = [Int32](repeating: 0, count: n * 2)
        }
        scratch.ids.withUnsafeMutableBufferPointer { ids in
        scratch.ranks.withUnsafeMutableBufferPointer { ranks in
        scratch.merged.withUnsafeMutableBufferPointer { merged in
            for i in 0..<n { ids[i] = byteIDs[Int(p[i])] }
            var count = n
            for i in 0..<(n - 1) {
                let r = pairs.get(ids[i], ids[i + 1])
                ranks[i] = r.rank
                merged[i] = r.merged
            }
            while count > 1 {
                var best = PairTable.noRank
                var at = -1
                var i = 0
                while i < count - 1 {
                    if ranks[i] < best { best = ranks[i]; at = i }
                    i += 1
                }
                if at < 0 { break }
                ids[at] = merged[at]
                // Remove element at+1 from ids and pair `at` from ranks/merged.
                var j = at + 1
                while j < count - 1 { ids[j] = ids[j + 1]; j += 1 }
                j = at
                while j < count - 2 { ranks[j] = ranks[j + 1]; merged[j] = merged[j + 1]; j += 1 }
                count -= 1
                if at > 0 {
                    let r = pairs.get(ids[at - 1], ids[at])
                    ranks[at - 1] = r.rank
                    merged[at - 1] = r.merged
                }
                if at < count - 1 {
                    let r = pairs.get(ids[at], ids[at + 1])
                    ranks[at] = r.rank
                    merged[at] = r.merged
                }
            }
            for i in 0..<count { out.append(ids[i]) }
        }}}
    }

    static func heapMerge(_ p: UnsafePointer<UInt8>, _ n: Int, byteIDs: UnsafeBufferPointer<Int32>,
                          pairs: PairLookup, scratch: inout BPEScratch, out: inout [Int32]) {
        if scratch.prev.count < n {
            scratch.prev = [Int32](repeating: 0, count: n)
            scratch.next = [Int32](repeating: 0, count: n)
        }
        if scratch.ids.count < n {
            scratch.ids = [Int32](repeating: 0, count: n)
            scratch.ranks = [UInt32](repeating: 0, count: n)
            scratch.merged = [Int32](repeating: 0, count: n)
        }
        scratch.heap.removeAll(keepingCapacity: true)
        var heap = scratch.heap
        scratch.heap = []
        scratch.ids.withUnsafeMutableBufferPointer { ids in
        scratch.prev.withUnsafeMutableBufferPointer { prev in
        scratch.next.withUnsafeMutableBufferPointer { next in
            for i in 0..<n {
                ids[i] = byteIDs[Int(p[i])]
                prev[i] = Int32(i - 1)
                next[i] = i + 1 < n ? Int32(i + 1) : -1
            }
            for i in 0..<(n - 1) {
                let r = pairs.get(ids[i], ids[i + 1])
                if r.rank != PairTable.noRank {
                    push(&heap, .init(key: UInt64(r.rank) << 32 | UInt64(i), merged: r.merged))
                }
            }
            // ids[i] == -1 marks a symbol merged into its left neighbour.
            while let top = pop(&heap) {
                let pos = Int(top.key & 0xFFFF_FFFF)
                if ids[pos] < 0 { continue }
                let nx = Int(next[pos])
                if nx < 0 { continue }
                let current = pairs.get(ids[pos], ids[nx])
                if current.merged != top.merged { continue }
                ids[pos] = top.merged
                ids[nx] = -1
                let nn = next[nx]
                next[pos] = nn
                if nn >= 0 { prev[Int(nn)] = Int32(pos) }
                let pv = Int(prev[pos])
                if pv >= 0 {
                    let r = pairs.get(ids[pv], ids[pos])
                    if r.rank != PairTable.noRank {
                        push(&heap, .init(key: UInt64(r.rank) << 32 | UInt64(pv), merged: r.merged))
                    }
                }
                if nn >= 0 {
                    let r = pairs.get(ids[pos], ids[Int(nn)])
                    if r.rank != PairTable.noRank {
                        push(&heap, .init(key: UInt64(r.rank) << 32 | UInt64(pos), merged: r.merged))
                    }
                }
            }
            var i = 0
            while i >= 0 && i < n {
                out.append(ids[i])
                i = Int(next[i])
            }
        }}}
        scratch.heap = heap
    }

    @inline(__always)
    static func push(_ h: inout [BPEScratch.HeapEntry], _ e: BPEScratch.HeapEntry) {
        h.append(e)
        var i = h.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if h[parent].key <= h[i].key { break }
            h.swapAt(parent, i)
            i = parent
        }
    }

    @inline(__always)
    static func pop(_ h: inout [BPEScratch.HeapEntry]) -> BPEScratch.HeapEntry? {
        guard let last = h.popLast() else { return nil }
        if h.isEmpty { return last }
        let top = h[0]
        h[0] = last
        var i = 0
        let n = h.count
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var m = l
            if l + 1 < n && h[l + 1].key < h[l].key { m = l + 1 }
            if h[i].key <= h[m].key { break }
            h.swapAt(i, m)
            i = m
        }
        return top
    }
}
