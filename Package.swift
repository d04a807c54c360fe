// swift-tools-version:6.0
import PackageDescription

let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "onsr-video",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "onsr-video", targets: ["onsr-video"]),
        .library(name: "Decode", targets: ["Decode"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil libswscale",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev"])]
        ),
        // oneDNN (Debian libdnnl-dev ships no pkg-config file: the module map links libdnnl).
        .systemLibrary(name: "COneDNN", providers: [.apt(["libdnnl-dev"])]),
        .target(name: "Decode", dependencies: ["CFFmpeg"], swiftSettings: optimise),
        .target(name: "Engine", dependencies: ["COneDNN"], swiftSettings: optimise),
        .systemLibrary(name: "CMalloc"),
        .target(name: "Pipeline", dependencies: ["Decode", "Engine", "CMalloc"], resources: [.copy("Models")]),
        .executableTarget(
            name: "onsr-video",
            dependencies: ["Pipeline", "Decode", "Engine",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Engine timings for scripts/bench-engine (not installed with the tool).
        .executableTarget(name: "onsr-bench", dependencies: ["Engine", "Decode", "Pipeline"], swiftSettings: optimise),
        // Helpers shared by the test targets: running commands, ffmpeg / ffprobe as independent judges.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "DecodeTests", dependencies: ["Decode", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Decode", "Engine", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["onsr-video", "Decode", "TestSupport"]),
    ],
    // The FFmpeg and BLAS layers pass C pointers between pipeline threads that each own them in turn;
    // Swift 5 mode keeps those hand-offs expressible without wrapping every pointer.
    swiftLanguageModes: [.v5]
)
