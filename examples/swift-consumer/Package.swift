// swift-tools-version:5.9
// A separate package that uses Almanac the way an app does: by a package dependency, not from
// inside the library's folder. swift/scripts/test.sh builds and runs it (the consumer check).
import PackageDescription

let package = Package(
    name: "AlmanacConsumer",
    platforms: [.macOS(.v12)],
    // The repository root's manifest, the one an app gets from the repository URL. Named, because
    // a path dependency's identity is otherwise its folder's name (the clone's, unknown here).
    dependencies: [.package(name: "Almanac", path: "../..")],
    targets: [
        .executableTarget(
            name: "AlmanacConsumer",
            dependencies: [.product(name: "Almanac", package: "Almanac")],
            path: "Sources/AlmanacConsumer"),
    ]
)
