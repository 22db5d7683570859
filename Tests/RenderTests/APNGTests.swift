import Foundation
import XCTest
@testable import Render

final class APNGTests: XCTestCase {
    func tempPath(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "cnf-apng-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    /// Frames that differ everywhere: a disc moving across a gradient.
    func frames(_ n: Int, alpha: Bool = false) -> [Image] {
        (0..<n).map { k in
            var img = Image(width: 64, height: 48, fill: alpha ? Color(10, 20, 30, 128) : Color(UInt8(k * 5 % 256), 40, 90))
            img.fillCircle(center: (Double(4 + k * 2), 24), radius: 6, color: .black)
            img.drawText("\(k)", x: 40, y: 4)
            return img
        }
    }

    func testWrittenAnimationReadsBackFrameByFrame() throws {
        for alpha in [false, true] {
            let path = tempPath("a\(alpha).png"), written = frames(7, alpha: alpha)
            try writeAPNG(written, to: path, delay: 0.08, lastDelay: 2)
            let back = try readAPNG(path)
            XCTAssertEqual(back.frames.count, 7)
            XCTAssertEqual(back.plays, 0)
            XCTAssertEqual(back.frames, written, "every frame decodes to the pixels written")
            XCTAssertEqual(back.delays.dropLast(), Array(repeating: 0.08, count: 6)[...])
            XCTAssertEqual(back.delays.last, 2)
            // A viewer without APNG support shows the IDAT image: frame 0.
            XCTAssertEqual(try readPNG(path), written[0])
        }
    }

    func testChunkOrderAndSequenceNumbers() throws {
        let path = tempPath("order.png")
        try writeAPNG(frames(5), to: path)
        let chunks = try pngChunks(Array(FileManager.default.contents(atPath: path)!))
        let types = chunks.map(\.type)
        XCTAssertEqual(types.first, "IHDR"); XCTAssertEqual(types[1], "acTL"); XCTAssertEqual(types[2], "fcTL")
        XCTAssertEqual(types.last, "IEND")
        XCTAssertEqual(types.filter { $0 == "fcTL" }.count, 5)
        // fcTL/fdAT sequence numbers are 0, 1, 2, … in file order.
        let seqs = chunks.filter { $0.type == "fcTL" || $0.type == "fdAT" }.map { readBE32($0.data[0..<4]) }
        XCTAssertEqual(seqs, (0..<UInt32(seqs.count)).map { $0 })
        // No IDAT after the first fdAT.
        let lastIDAT = types.lastIndex(of: "IDAT")!, firstFDAT = types.firstIndex(of: "fdAT")!
        XCTAssertLessThan(lastIDAT, firstFDAT)
    }

    func testCorruptionIsDetected() throws {
        let path = tempPath("bad.png")
        try writeAPNG(frames(3), to: path)
        var bytes = Array(FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try readAPNG(path)) { XCTAssertTrue("\($0)".contains("bad CRC"), "\($0)") }
    }

    func testCRCMatchesTheKnownValue() {
        // CRC-32 of "IEND" with no data is the constant every PNG ends with.
        XCTAssertEqual(pngCRC(Array("IEND".utf8)), 0xAE42_6082)
        XCTAssertEqual(pngCRC(Array("123456789".utf8)), 0xCBF4_3926)
    }

    func testBadInputIsRefusedWithoutAFile() {
        let path = tempPath("none.png")
        XCTAssertThrowsError(try writeAPNG([], to: path))
        XCTAssertThrowsError(try writeAPNG([Image(width: 2, height: 2), Image(width: 3, height: 2)], to: path)) {
            XCTAssertTrue("\($0)".contains("frame 1 is 3×2"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
