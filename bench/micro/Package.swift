// swift-tools-version:6.1
import PackageDescription

/// Micro-benchmarks of Tandem's hot paths (issue 10): log append, record decode, aggregate update,
/// sketch merge and query merge, with ordo-one's `benchmark` package.
///
/// A package of its own so that the root package's build and CI never fetch or build the benchmark
/// library: it depends on the root package by path and uses only its public API. Run the suite with
/// `bench/micro/run.sh` (see README.md); the plugin builds it in release.

/// The settings of the root package (see ../../Package.swift).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// A benchmark suite: one executable under `Benchmarks/NAME`, as the benchmark plugin expects.
func suite(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: dependencies + ["PageviewFixtures", .product(name: "Benchmark", package: "benchmark")],
        path: "Benchmarks/\(name)",
        swiftSettings: swiftSettings,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let events = Target.Dependency.product(name: "Events", package: "tandem")
let eventLog = Target.Dependency.product(name: "EventLog", package: "tandem")
let aggregation = Target.Dependency.product(name: "Aggregation", package: "tandem")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
/// The query engine, the speed layer and the batch layer's published versions are not products
/// of their own: `TandemServer` brings their modules, and `SpeedLayer`'s conformance to the
/// engine's `SpeedStateReading`.
let tandemServer = Target.Dependency.product(name: "TandemServer", package: "tandem")

let package = Package(
    name: "TandemMicroBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "tandem", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Only the malloc interposer (malloc counts, no jemalloc needed on Swift 6.3): the default
        // traits would add the Linux runtime interposer, a package the project's machines lack.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The generated pageviews, the temporary logs and the setup helpers the suites share.
        .target(name: "PageviewFixtures", dependencies: [events, eventLog, aggregation, logging], swiftSettings: swiftSettings),
        suite("LogAppend", [eventLog]),
        suite("RecordDecode", [eventLog, events]),
        suite("AggregateUpdate", [eventLog, aggregation]),
        suite("SketchMerge", [events, aggregation]),
        suite("QueryMerge", [events, aggregation, tandemServer]),
    ]
)
