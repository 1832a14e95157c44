/// The bytes of every token in one flat, immutable buffer plus an offsets table, and a hash index
/// from byte strings to model-vocabulary ids. Memory is owned here and never mutated after `init`,
/// so handing out pointers into it (valid while the store lives) and sharing it across threads is safe.
final class TokenStore: @unchecked Sendable {
    /// Flat bytes of all tokens.
    let bytes: UnsafeMutableBufferPointer<UInt8>
    /// `offsets[id] ..< offsets[id + 1]` is the span of token `id` in `bytes` (count: vocabSize + 1).
    let offsets: UnsafeMutableBufferPointer<Int32>
    /// Whether an id exists (ids may have holes).
    let present: UnsafeMutableBufferPointer<Bool>
    /// Open-addressing index over the *model* vocabulary (not the added tokens): id or -1.
    let slots: UnsafeMutableBufferPointer<Int32>
    let slotMask: Int
    let vocabSize: Int

    /// - Parameters:
    ///   - tokens: `(id, bytes)` of every token (model vocabulary and added tokens).
    ///   - indexed: which ids go into the byte-string index (the model vocabulary).
    init(vocabSize: Int, tokens: [(Int32, ArraySlice<UInt8>)], indexed: (Int32) -> Bool) throws {
        self.vocabSize = vocabSize
        var perID = [ArraySlice<UInt8>?](repeating: nil, count: vocabSize)
        var total = 0
        for (id, b) in tokens {
            guard id >= 0, Int(id) < vocabSize else { throw TokenizerError.invalidFile("token id \(id) out of range") }
            guard perID[Int(id)] == nil else { throw TokenizerError.invalidFile("duplicate token id \(id)") }
            perID[Int(id)] = b
            total += b.count
        }
        guard total < Int(Int32.max) else { throw TokenizerError.invalidFile("vocabulary too large") }
        bytes = .allocate(capacity: max(total, 1))
        offsets = .allocate(capacity: vocabSize + 1)
        present = .allocate(capacity: max(vocabSize, 1))
        var at = 0
        for id in 0..<vocabSize {
            offsets[id] = Int32(at)
            present[id] = perID[id] != nil
            if let b = perID[id] {
                for x in b { bytes[at] = x; at += 1 }
            }
        }
        offsets[vocabSize] = Int32(at)
        var cap = 16
        while cap < tokens.count * 2 { cap <<= 1 }
        slots = .allocate(capacity: cap)
        slots.initialize(repeating: -1)
        slotMask = cap - 1
        for id in 0..<vocabSize where present[id] && indexed(Int32(id)) {
            let s = Int(offsets[id]), e = Int(offsets[id + 1])
            var h = Int(truncatingIfNeeded: TokenStore.hash(bytes.baseAddress! + s, e - s)) & slotMask
            while true {
                let other = slots[h]
                if other < 0 { slots[h] = Int32(id); break }
                if equal(Int(other), bytes.baseAddress! + s, e - s) {
                    throw TokenizerError.invalidFile("two vocabulary ids (\(other), \(id)) for the same bytes")
                }
                h = (h + 1) & slotMask
            }
        }
    }

    deinit {
        bytes.deallocate(); offsets.deallocate(); present.deallocate(); slots.deallocate()
    }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: n &+ 1)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i &+ 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 31
            i &+= 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(p[i]) << shift
            shift &+= 8
            i &+= 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 29
        return h
    }

    @inline(__always)
    func equal(_ id: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let s = Int(offsets[id]), e = Int(offsets[id &+ 1])
        guard e &- s == n else { return false }
        let q = bytes.baseAddress! + s
        var i = 0
        while i < n {
            if q[i] != p[i] { return false }
            i &+= 1
        }
        return true
    }

    /// The model-vocabulary id of exactly these bytes, or -1.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        var h = Int(truncatingIfNeeded: TokenStore.hash(p, n)) & slotMask
        while true {
            let id = slots[h]
            if id < 0 { return -1 }
            if equal(Int(id), p, n) { return id }
            h = (h &+ 1) & slotMask
        }
    }

    @inline(__always)
    func tokenLength(_ id: Int32) -> Int { Int(offsets[Int(id) &+ 1] &- offsets[Int(id)]) }
}
