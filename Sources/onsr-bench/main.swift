import Decode
import Engine
import Foundation
import Pipeline

// Times the engine on the workloads `scripts/bench-engine` compares with PyTorch; prints one time (ms) per run.
//   onsr-bench training [runs] [warmup]   one RRDBNet(64, 3, 32, x2) training step: 10x3x32x32, L1 vs 64x64, Adam
//   onsr-bench forward  [runs] [warmup]   RRDBNet(64, 3, 32, x2) forward of 1x3x180x320, fp32
//   onsr-bench forward-bf16 [runs] [warmup]  the same forward with bf16 activations
//   onsr-bench infer VIDEO MODEL [frames] [precision]  decodes up to `frames` frames (untimed), then prints the
//                                          pure model inference time (ms) of each, as `--method pretrained` runs it
// Every workload first prints one line to stderr: the CPU's oneDNN instruction set and the kernel it runs.

let arguments = CommandLine.arguments
// The allocator policy onsr-video itself runs with (large buffers reused, not mapped and unmapped per layer).
MemoryTuning.reuseLargeBuffers()
if arguments.count >= 4 && arguments[1] == "infer" {
    let limit = arguments.count > 4 ? Int(arguments[4]) ?? 20 : 20
    let demuxer = try Demuxer(path: arguments[2])
    guard let video = demuxer.streams.first(where: { $0.kind == .video }) else { exit(65) }
    let decoder = try Decoder(demuxer: demuxer, streamIndex: video.index)
    let packet = try Packet(), frame = try Frame(), converter = ColourConverter()
    let matrix = video.colour.matrix(height: video.height)
    let fullRange = video.colour.isFullRange(pixelFormatName: video.pixelFormatName ?? "yuv420p")
    var images: [RGBImage] = []
    reading: while images.count < limit, case .packet = try demuxer.read(into: packet) {
        guard packet.streamIndex == video.index else { continue }
        try decoder.send(packet)
        while case .output = try decoder.receive(into: frame) {
            images.append(try converter.rgbImage(from: frame, matrix: matrix, fullRange: fullRange))
            if images.count == limit { break reading }
        }
    }
    let precision = arguments.count > 5 ? Precision(rawValue: arguments[5]) ?? .auto : .auto
    let upscaler = try PretrainedUpscaler(model: ModelStore.resolve(arguments[3], scale: 2), precision: precision.resolved)
    FileHandle.standardError.write("\(ComputeInfo.instructionSet) \(precision.resolved) \(upscaler.implementation(height: images[0].height, width: images[0].width))\n".data(using: .utf8)!)
    _ = try upscaler.upscale(images[0])
    for image in images {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try upscaler.upscale(image)
        print(String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
    }
    exit(0)
}
guard arguments.count >= 2, ["training", "forward", "forward-bf16"].contains(arguments[1]) else {
    FileHandle.standardError.write("usage: onsr-bench training|forward|forward-bf16 [runs] [warmup]\n".data(using: .utf8)!)
    exit(64)
}
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
let warmup = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
let net = RRDBNet(.init(features: 64, blocks: 3, growth: 32, scale: 2), seed: 1)
var rng = SeededRandom(seed: 2)
func random(_ shape: [Int]) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t[i] = rng.uniform() }
    return t
}

let work: () -> Void
if arguments[1] == "training" {
    let input = random([10, 3, 32, 32]), target = random([10, 3, 64, 64])
    let adam = Adam(net, learningRate: 1e-4)
    work = {
        adam.zeroGrad()
        let output = net.forward(input, saving: true)
        let (_, grad) = Loss.l1(output, target)
        net.backward(grad)
        adam.step()
    }
    FileHandle.standardError.write("\(ComputeInfo.instructionSet) fp32 \(net.implementation(height: 32, width: 32, precision: .fp32, training: true, batch: 10))\n".data(using: .utf8)!)
} else {
    let input = random([1, 3, 180, 320])
    let precision: ElementType = arguments[1] == "forward-bf16" ? .bf16 : .fp32
    FileHandle.standardError.write("\(ComputeInfo.instructionSet) \(precision) \(net.implementation(height: 180, width: 320, precision: precision))\n".data(using: .utf8)!)
    work = { _ = net.infer(input, precision: precision) }
}
for _ in 0..<warmup { work() }
for _ in 0..<runs {
    let start = DispatchTime.now().uptimeNanoseconds
    work()
    print(String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
}
