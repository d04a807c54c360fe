import Decode
import Foundation
import ONSR
import TestSupport
import XCTest

/// `onsr-video eval` as a user runs it, on small generated photo folders (with models it trains itself: TrainCommandTests).
final class EvalCommandTests: XCTestCase {
    var folder: TemporaryFolder!

    override func setUpWithError() throws {
        folder = try TemporaryFolder("onsr-eval-cli")
        try CommandPhotos.writeSmall(in: folder)
    }

    override func tearDown() { folder.remove() }

    func onsr(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([BuiltProducts.onsrVideo] + arguments, in: folder.path)
    }

    /// A photo too small for ONSR's patches is named in a one-line error before any adaptation, with or without checkpoints.
    func testEvalRefusesAPhotoTooSmallForONSR() throws {
        try FileManager.default.createDirectory(atPath: folder.file("small"), withIntermediateDirectories: false)
        try ImageFile.writePNG(RGBImage(width: 60, height: 40, pixels: (0..<(3 * 60 * 40)).map { Float($0 % 7) / 7 }), to: folder.file("small/s.png"))
        for extra in [["--checkpoints", "0", "2"], []] {
            let result = try onsr(["eval", "--photos", "small", "--external", "photos", "--methods", "onsr:two-phase", "--steps", "2"] + extra)
            XCTAssertEqual(result.status, 65, result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("s.png"), result.stderr)
        }
    }

    /// `scan:MODEL` tells a kernel-conditioned model each size around each photo's reading and prints a row per photo
    /// (and no empty benchmark table); a blind model is refused.
    func testEvalScansAConditionedModelsToldSize() throws {
        try CommandPhotos.writeLarge(in: folder)
        let result = try onsr(["eval", "--photos", "large", "--methods", "scan:fast-x2-cond", "--scan-offsets", "-0.2,0,0.2", "--json", "s"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("| l") }.count, 2, result.stdout)
        XCTAssertFalse(result.stdout.contains("| method |"), result.stdout)
        let scans = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("s.scan.json")))) as! [[String: Any]]
        XCTAssertEqual(scans.count, 2)
        XCTAssertEqual((scans[0]["consistency"] as? [Double])?.count, 3)
        let blind = try onsr(["eval", "--photos", "large", "--methods", "scan:fast-x2-g"])
        XCTAssertEqual(blind.status, 64, blind.stderr)
        XCTAssertTrue(blind.stderr.contains("kernel-conditioned"), blind.stderr)
        let noZero = try onsr(["eval", "--photos", "large", "--methods", "scan:fast-x2-cond", "--scan-offsets", "-0.2,0.2"])
        XCTAssertEqual(noZero.status, 64, noZero.stderr)
    }

    /// `--keep-outputs` keeps each photo's HR and every scored output, and what it keeps scores as the table says.
    func testEvalKeepsTheOutputsItScores() throws {
        let result = try onsr(["eval", "--photos", "photos", "--methods", "bicubic", "--keep-outputs", "kept", "--json", "eval.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        func read(_ name: String) throws -> RGBImage {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder.file("kept/\(name).f32")))
            let header = data.prefix(8).withUnsafeBytes { (Int(Int32(littleEndian: $0.load(as: Int32.self))),
                                                           Int(Int32(littleEndian: $0.load(fromByteOffset: 4, as: Int32.self)))) }
            XCTAssertEqual(data.count, 8 + 3 * header.0 * header.1 * 4)
            let pixels = data.dropFirst(8).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            return RGBImage(width: header.1, height: header.0, pixels: pixels)
        }
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("eval.json")))) as! [[String: Any]]
        let scored = try XCTUnwrap(rows[0]["perImagePSNR"] as? [Double])
        for (i, psnr) in scored.enumerated() {
            let (hr, output) = (try read("p\(i).png--hr"), try read("p\(i).png--bicubic"))
            XCTAssertEqual(hr.pixels, try ImageFile.read(path: folder.file("photos/p\(i).png")).image.pixels)
            XCTAssertEqual(Quality.psnrY(output.pixels, hr.pixels, height: hr.height, width: hr.width, shave: 2), psnr, accuracy: 1e-9)
        }
    }

    func testEvalOnlyScoresTheNamedPhotosDegradedAsInTheWholeSet() throws {
        func perImage(_ extra: [String]) throws -> [Double] {
            let result = try onsr(["eval", "--photos", "photos", "--methods", "bicubic", "--seed", "3", "--json", "eval.json"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr)
            let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("eval.json")))) as! [[String: Any]]
            return try XCTUnwrap(rows[0]["perImagePSNR"] as? [Double])
        }
        let whole = try perImage([])
        XCTAssertEqual(whole.count, 2)
        // p1's kernel is seeded by its place in the folder, not by its place among the photos kept.
        XCTAssertEqual(try perImage(["--only", "p1.png"]), [whole[1]])
        let unknown = try onsr(["eval", "--photos", "photos", "--methods", "bicubic", "--only", "p9.png"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.contains("p9.png"), unknown.stderr)
    }

    func testEvalPrintsATableAndWritesJSON() throws {
        let result = try onsr(["eval", "--photos", "photos", "--methods", "bicubic", "lanczos", "--json", "eval.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("| bicubic |") && result.stdout.contains("| lanczos |"), result.stdout)
        let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("eval.json")))) as! [[String: Any]]
        XCTAssertEqual(rows.count, 2)
        let psnr = try XCTUnwrap(rows[0]["psnr"] as? Double)
        XCTAssertTrue(psnr > 15 && psnr < 60, "\(psnr)")
        let missing = try onsr(["eval", "--photos", "nowhere"])
        XCTAssertEqual(missing.status, 66)
    }
}
