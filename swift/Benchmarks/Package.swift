// swift-tools-version:5.9
// W9 from Swift (`make bench-sdk`, scripts/bench-sdk.sh): the W4 month view called through the
// Almanac package, timed in a release build. A separate package so the library's manifest (the
// repository root's) carries no benchmark.
import PackageDescription

let package = Package(
    name: "AlmanacBenchmarks",
    platforms: [.macOS(.v12)],
    dependencies: [.package(name: "Almanac", path: "../..")],
    targets: [
        .executableTarget(
            name: "AlmanacW9",
            dependencies: [.product(name: "Almanac", package: "Almanac")],
            path: "Sources/AlmanacW9"),
    ]
)
