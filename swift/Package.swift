// swift-tools-version:5.9
// Almanac's Swift package: a thin idiomatic layer (`Almanac`) over the UniFFI-generated
// bindings (`AlmanacFFI`) and their C header (`almanac_ffiFFI`).
//
// The generated sources are not committed: `scripts/test.sh` regenerates them from the Rust
// crate into Sources/AlmanacFFI and Sources/almanac_ffiFFI before building. The Rust library
// (`libalmanac_ffi`) is linked with linker flags given on the command line (see scripts/test.sh)
// or, on Apple platforms, from the XCFramework made by scripts/build-xcframework.sh.
import PackageDescription

let package = Package(
    name: "Almanac",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Almanac", targets: ["Almanac"]),
    ],
    targets: [
        // Generated: almanac_ffiFFI.h + module.modulemap (module `almanac_ffiFFI`).
        .systemLibrary(name: "almanac_ffiFFI", path: "Sources/almanac_ffiFFI"),
        // Generated: the UniFFI Swift bindings (uniffi.toml sets module_name = "AlmanacFFI").
        .target(name: "AlmanacFFI", dependencies: ["almanac_ffiFFI"], path: "Sources/AlmanacFFI"),
        // Hand-written idiomatic API.
        .target(name: "Almanac", dependencies: ["AlmanacFFI"], path: "Sources/Almanac"),
        .testTarget(name: "AlmanacTests", dependencies: ["Almanac"], path: "Tests/AlmanacTests"),
    ]
)
