import Foundation

/// Weight profiles by name (VERL `core_algos` style): built-ins are `released`, `aligned` (default)
/// and `uniform`; more can be registered at start-up with ``register(_:)``.
public enum ProfileRegistry {
    /// The profile used when none is named.
    public static let defaultName = AlignedProfile.name

    private final class Storage: @unchecked Sendable {
        let lock = NSLock()
        var types: [String: any WeightProfile.Type] = [
            ReleasedProfile.name: ReleasedProfile.self,
            AlignedProfile.name: AlignedProfile.self,
            UniformProfile.name: UniformProfile.self,
        ]
    }
    private static let storage = Storage()

    /// Registers (or replaces) a profile type under its ``WeightProfile/name``.
    public static func register(_ type: any WeightProfile.Type) {
        storage.lock.lock(); defer { storage.lock.unlock() }
        storage.types[type.name] = type
    }

    /// Registered names, sorted.
    public static var names: [String] {
        storage.lock.lock(); defer { storage.lock.unlock() }
        return storage.types.keys.sorted()
    }

    /// Builds the profile `name` with `config`; throws ``ShapingConfigError/unknownProfile(_:)``.
    public static func make(_ name: String, config: ShapingConfig = ShapingConfig()) throws -> any WeightProfile {
        storage.lock.lock()
        let t = storage.types[name]
        storage.lock.unlock()
        guard let t else { throw ShapingConfigError.unknownProfile(name) }
        return try t.init(config: config)
    }
}
