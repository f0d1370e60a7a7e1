// swift-tools-version:5.9
// Almanac's Swift package, at the repository root so an app adds it by this repository's URL
// (Xcode: File ▸ Add Package Dependencies…; SwiftPM reads the manifest at the root). The sources
// live in swift/ (see swift/README.md and decision 0023).
//
// Targets:
//   almanac_ffiFFI  the Rust library and its C header/module map (module `almanac_ffiFFI`):
//                   on Apple platforms a binary XCFramework, on Linux a system library over
//                   the generated header, linking libalmanac_ffi.so (see swift/scripts/test.sh);
//   AlmanacFFI      the UniFFI-generated Swift bindings (generated, gitignored on main; a
//                   release tag carries them, see swift/scripts/release.sh);
//   Almanac         the hand-written API apps import.
import PackageDescription

// The XCFramework a release publishes (zip URL + SwiftPM checksum); swift/scripts/release.sh
// writes this line in the release commit it tags. nil on main: Apple builds then use the
// XCFramework that `make xcframework` writes to swift/build/.
let releasedXCFramework: (url: String, checksum: String)? = nil

let rustLibrary: Target
#if os(Linux)
rustLibrary = .systemLibrary(name: "almanac_ffiFFI", path: "swift/Sources/almanac_ffiFFI")
#else
if let release = releasedXCFramework {
    rustLibrary = .binaryTarget(name: "almanac_ffiFFI", url: release.url, checksum: release.checksum)
} else {
    rustLibrary = .binaryTarget(name: "almanac_ffiFFI", path: "swift/build/almanac_ffiFFI.xcframework")
}
#endif

let package = Package(
    name: "Almanac",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Almanac", targets: ["Almanac"]),
    ],
    targets: [
        rustLibrary,
        .target(name: "AlmanacFFI", dependencies: ["almanac_ffiFFI"], path: "swift/Sources/AlmanacFFI"),
        .target(name: "Almanac", dependencies: ["AlmanacFFI"], path: "swift/Sources/Almanac"),
        .testTarget(name: "AlmanacTests", dependencies: ["Almanac"], path: "swift/Tests/AlmanacTests"),
    ]
)
