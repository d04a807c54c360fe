import Pipeline
import XCTest

/// Captions of dropped frames reach the next kept frame, in order, within the 31 packets a frame can hold.
final class ClosedCaptionCarryTests: XCTestCase {
    /// A CEA-608 field-1 packet (cc_valid set, cc_type 0) with the byte pair `a`, `b`.
    func packet(_ a: UInt8, _ b: UInt8) -> [UInt8] { [0xFC, a, b] }
    /// A padding packet (cc_valid clear).
    let padding: [UInt8] = [0xFA, 0x00, 0x00]

    func testWithNothingDroppedTheFrameKeepsItsOwnCaptions() {
        var carry = ClosedCaptionCarry()
        XCTAssertEqual(carry.kept(packet(0x41, 0x42)), packet(0x41, 0x42))
        XCTAssertNil(carry.kept(nil))
        XCTAssertEqual(carry.lostPackets, 0)
    }

    func testDroppedCaptionsGoFirstIntoTheNextKeptFrameWithoutPadding() {
        var carry = ClosedCaptionCarry()
        carry.dropped(packet(0x48, 0x45) + padding)
        carry.dropped(nil)
        carry.dropped(packet(0x4C, 0x4C))
        XCTAssertEqual(carry.kept(packet(0x4F, 0x21)), packet(0x48, 0x45) + packet(0x4C, 0x4C) + packet(0x4F, 0x21))
        XCTAssertEqual(carry.kept(packet(0x20, 0x20)), packet(0x20, 0x20), "carried once")
        XCTAssertEqual(carry.lostPackets, 0)
    }

    func testAKeptFrameWithoutCaptionsCarriesTheDroppedOnes() {
        var carry = ClosedCaptionCarry()
        carry.dropped(packet(0x41, 0x42))
        XCTAssertEqual(carry.kept(nil), packet(0x41, 0x42))
    }

    /// 708-style frames of 20 packets: two dropped frames' text and a kept frame's cannot all fit. The kept frame's
    /// padding gives way first, then the oldest packets, and those are counted.
    func testOverflowDropsPaddingThenTheOldestPackets() {
        var carry = ClosedCaptionCarry()
        let dropped = (0..<20).flatMap { packet(UInt8($0), 0x80) }
        carry.dropped(dropped)
        let own = (0..<5).flatMap { packet(0x60 + UInt8($0), 0x81) } + Array([[UInt8]](repeating: padding, count: 15).joined())
        let merged = carry.kept(own) ?? []
        XCTAssertEqual(merged, dropped + (0..<5).flatMap { packet(0x60 + UInt8($0), 0x81) }, "25 packets fit once padding goes")
        XCTAssertEqual(carry.lostPackets, 0)

        carry.dropped(dropped)
        carry.dropped(dropped)
        let full = carry.kept(own) ?? []
        XCTAssertEqual(full.count, 3 * ClosedCaptionCarry.maxPackets)
        XCTAssertEqual(carry.lostPackets, 45 - 31, "the oldest 14 of 45 packets")
        XCTAssertEqual(Array(full.suffix(15)), (0..<5).flatMap { packet(0x60 + UInt8($0), 0x81) }, "the kept frame's text is last")
        XCTAssertEqual(Array(full.prefix(3)), packet(14, 0x80), "the first frame's packets from the 15th on")
    }

    func testATrailingFragmentIsNotCarried() {
        var carry = ClosedCaptionCarry()
        carry.dropped(packet(0x41, 0x42) + [0xFC, 0x43])
        XCTAssertEqual(carry.kept(nil), packet(0x41, 0x42))
    }
}
