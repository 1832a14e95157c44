/// A run of response bytes `[start, end)` that all belong to one ``TokenCategory``.
/// ``RegionParser`` describes a response as contiguous segments covering every byte.
public struct RegionSegment: Sendable, Equatable {
    /// First token of the segment.
    public var start: Int
    /// One past its last token.
    public var end: Int
    /// The category of every token in it.
    public var category: TokenCategory

    /// A segment `start..<end` of `category`.
    public init(start: Int, end: Int, category: TokenCategory) {
        self.start = start; self.end = end; self.category = category
    }
}

/// Appends segments in byte order, filling any gap with a given category and merging neighbours
/// of the same category, so the result always covers `[0, n)` without holes.
struct SegmentBuilder {
    var segments: [RegionSegment] = []
    var end = 0

    init(capacity: Int = 32) { segments.reserveCapacity(capacity) }

    /// Covers `[start, stop)` with `category`; bytes between the current end and `start` get `gap`.
    mutating func add(_ category: TokenCategory, _ start: Int, _ stop: Int, gap: TokenCategory) {
        if start > end { push(gap, end, start) }
        let s = max(start, end)
        if stop > s { push(category, s, stop) }
    }

    /// Extends coverage to `stop` with `category`.
    mutating func fill(to stop: Int, with category: TokenCategory) {
        if stop > end { push(category, end, stop) }
    }

    private mutating func push(_ category: TokenCategory, _ start: Int, _ stop: Int) {
        if let last = segments.last, last.category == category, last.end == start {
            segments[segments.count - 1].end = stop
        } else {
            segments.append(RegionSegment(start: start, end: stop, category: category))
        }
        end = stop
    }
}
