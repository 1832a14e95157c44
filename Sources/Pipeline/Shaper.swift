/// The seam between transports (sidecar, offline `shape`, trainer) and the shaping core:
/// anything that turns a ``ShapeRequest`` into a ``ShapeResult``. ``ShapingEngine`` is the real one;
/// tests of a transport may use a fake.
public protocol Shaper: Sendable {
    func shape(_ request: ShapeRequest) throws -> ShapeResult
}
