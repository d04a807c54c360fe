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
            pkgConfig: "libavformat libavcodec libavutil libswscale libavfilter",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libavfilter-dev"])]
        ),
        // oneDNN (Debian libdnnl-dev ships no pkg-config file: the module map links libdnnl).
        .systemLibrary(name: "COneDNN", providers: [.apt(["libdnnl-dev"])]),
        .target(name: "Decode", dependencies: ["CFFmpeg"], exclude: ["README.md"], swiftSettings: optimise),
        .target(name: "Engine", dependencies: ["COneDNN"], exclude: ["README.md"], swiftSettings: optimise),
        .systemLibrary(name: "CMalloc"),
        // The ONSR method: Gd, Dl, blur kernels, the spectral estimate, the adapter, the degradation check.
        .target(name: "ONSR", dependencies: ["Engine", "Decode"], exclude: ["README.md"], swiftSettings: optimise),
        .target(name: "Pipeline", dependencies: ["Decode", "Engine", "ONSR", "CMalloc"], exclude: ["README.md"], resources: [.copy("Models")]),
        // Batch runs over archives: the plan, the manifest, per-item locks and item processes.
        .target(name: "Batch", dependencies: ["Pipeline", "CMalloc"], exclude: ["README.md"]),
        // Training Gr and the blind-SR benchmark with its study variants: the CLI links it, the video path does not.
        .target(name: "Training", dependencies: ["Pipeline", "ONSR", "Engine", "Decode"], exclude: ["README.md"], swiftSettings: optimise),
        .executableTarget(
            name: "onsr-video",
            dependencies: ["Pipeline", "Batch", "Training", "Decode", "Engine", "ONSR",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Engine timings for scripts/bench-engine (not installed with the tool).
        .executableTarget(name: "onsr-bench", dependencies: ["Engine", "Decode", "ONSR", "Pipeline"], swiftSettings: optimise),
        // Helpers shared by the test targets: running commands, ffmpeg / ffprobe as independent judges.
        // Finite differences and the PyTorch fixtures' checks, for the engine's and the method's tests.
        .target(name: "TestSupport", dependencies: ["Engine", "Decode"], path: "Tests/TestSupport"),
        .testTarget(name: "DecodeTests", dependencies: ["Decode", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ONSRTests", dependencies: ["ONSR", "Engine", "Decode", "Pipeline", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "ONSR", "Decode", "Engine", "TestSupport"]),
        .testTarget(name: "BatchTests", dependencies: ["Batch", "Pipeline", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Pipeline", "ONSR", "Engine", "Decode", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["onsr-video", "Decode", "ONSR", "Pipeline", "TestSupport"]),
    ],
    // The FFmpeg and BLAS layers pass C pointers between pipeline threads that each own them in turn;
    // Swift 5 mode keeps those hand-offs expressible without wrapping every pointer.
    swiftLanguageModes: [.v5]
)
