// swift-tools-version:6.1
import PackageDescription

/// libFuzzer targets for Tandem's parsers, decoders and query planner.
///
/// A package of its own so that the main build never needs the fuzzer runtime: it depends on the
/// root package by path and uses only its `Events` and `Aggregation` libraries, which have no
/// external dependencies, so only those two modules (plus the targets below) are compiled.
///
/// Each fuzz target is an executable whose single file defines `LLVMFuzzerTestOneInput` and a
/// `@main` that hands it to libFuzzer's driver (SwiftPM renames Swift executables' `main`, so
/// libFuzzer's own `main` cannot be used). Build and run them with `../scripts/fuzz.sh`, which
/// passes `-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library`; without
/// `-sanitize=fuzzer` the executables do not link.

/// The settings of the root package (see ../Package.swift).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The libraries of the root package every fuzz target may use.
let tandem: [Target.Dependency] = [
    .product(name: "Events", package: "tandem"),
    .product(name: "Aggregation", package: "tandem"),
]

/// A fuzz target: one executable, one file, linked against the fixtures.
func fuzzTarget(_ name: String) -> Target {
    .executableTarget(name: name, dependencies: tandem + ["FuzzSupport"], swiftSettings: swiftSettings)
}

let package = Package(
    name: "TandemFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tandem", path: "..")
    ],
    targets: [
        // Declares libFuzzer's `LLVMFuzzerRunDriver` for Swift.
        .target(name: "CLibFuzzer"),
        // The fixed stream, view and events the targets share, and the driver.
        .target(name: "FuzzSupport", dependencies: tandem + ["CLibFuzzer"], swiftSettings: swiftSettings),
        fuzzTarget("FuzzEventParser"),
        fuzzTarget("FuzzRecordCodec"),
        fuzzTarget("FuzzViewDefinition"),
        fuzzTarget("FuzzQuery"),
    ]
)
