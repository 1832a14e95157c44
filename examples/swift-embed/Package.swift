// swift-tools-version: 6.0
// A downstream package that shapes in-process with rest-shaper's library product, the way a Swift
// rollout server, trainer or evaluation harness would: one dependency, by version.
//
// rest-shaper is resolved like any released package: a git URL with a semantic-version tag.
// `run.sh` points REST_SHAPER_URL at a local clone of the current commit tagged with the current
// version; your own package names the URL of the repository you depend on instead.
import PackageDescription

let restShaperURL = Context.environment["REST_SHAPER_URL"] ?? "https://github.com/rest-shaper/rest-shaper"
let restShaperVersion = Version(Context.environment["REST_SHAPER_VERSION"] ?? "0.1.0") ?? "0.1.0"

let package = Package(
    name: "swift-embed",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: restShaperURL, from: restShaperVersion),
    ],
    targets: [
        .executableTarget(name: "swift-embed", dependencies: [
            .product(name: "RestShaperCore", package: "rest-shaper"),
        ]),
    ]
)
