// swift-tools-version:5.9
// A separate package that uses Almanac the way an app does: by a package dependency, not from
// inside the library's folder. swift/scripts/test.sh builds and runs it (the consumer check).
import PackageDescription

let package = Package(
    name: "AlmanacConsumer",
    platforms: [.macOS(.v12)],
    dependencies: [.package(path: "../../swift")],
    targets: [
        .executableTarget(
            name: "AlmanacConsumer",
            dependencies: [.product(name: "Almanac", package: "swift")],
            path: "Sources/AlmanacConsumer"),
    ]
)
