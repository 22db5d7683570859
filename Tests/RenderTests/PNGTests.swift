import CNFCore
import Foundation
import XCTest
@testable import Render

final class PNGTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("cnf-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        chmod(folder, 0o755)
        try? FileManager.default.removeItem(atPath: folder)
    }

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    func contents(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// Random pixels, so any swap of channels, rows or columns would show.
    func noise(width: Int, height: Int, opaque: Bool, seed: UInt64) -> Image {
        var rng = Xoshiro256(seed: seed)
        var img = Image(width: width, height: height)
        for k in img.pixels.indices {
            img.pixels[k] = (opaque && k % 4 == 3) ? 255 : UInt8(truncatingIfNeeded: rng.next())
        }
        return img
    }

    func testTranslucentImageRoundTripsExactly() throws {
        let img = noise(width: 37, height: 23, opaque: false, seed: 1)
        try writePNG(img, to: path("a.png"))
        let back = try readPNG(path("a.png"))
        XCTAssertEqual(back.width, 37)
        XCTAssertEqual(back.height, 23)
        XCTAssertEqual(back.pixels, img.pixels)
    }

    func testOpaqueImageRoundTripsExactly() throws {
        // Opaque pictures are stored as RGB; they must read back identical, alpha 255.
        let img = noise(width: 64, height: 9, opaque: true, seed: 2)
        try writePNG(img, to: path("b.png"))
        XCTAssertEqual(try readPNG(path("b.png")), img)
        XCTAssertEqual(contents(folder), ["b.png"], "no temporary file may remain")
    }

    func testOverwriteReplacesTheFile() throws {
        try writePNG(noise(width: 5, height: 5, opaque: true, seed: 3), to: path("c.png"))
        let second = noise(width: 8, height: 3, opaque: false, seed: 4)
        try writePNG(second, to: path("c.png"))
        XCTAssertEqual(try readPNG(path("c.png")), second)
    }

    func assertWriteFails(_ target: String, mentioning words: [String],
                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try writePNG(noise(width: 4, height: 4, opaque: true, seed: 5), to: target),
                             file: file, line: line) { error in
            guard let e = error as? RenderError else { return XCTFail("not a RenderError: \(error)", file: file, line: line) }
            let text = e.description
            XCTAssertFalse(text.contains("\n"), "message must be one line: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(target), "message must name the path: \(text)", file: file, line: line)
            for w in words { XCTAssertTrue(text.contains(w), "message should mention '\(w)': \(text)", file: file, line: line) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "a failed write left \(target)",
                       file: file, line: line)
    }

    func testMissingFolderThrowsAndLeavesNothing() {
        let missing = path("no/such/folder")
        assertWriteFails(missing + "/x.png", mentioning: ["does not exist", missing])
        XCTAssertEqual(contents(folder), [])
    }

    func testFileInPlaceOfFolderThrows() throws {
        _ = FileManager.default.createFile(atPath: path("plain"), contents: Data([1]))
        assertWriteFails(path("plain") + "/x.png", mentioning: ["not a folder"])
        XCTAssertEqual(contents(folder), ["plain"])
    }

    /// A folder this process cannot write to: a read-only copy of our folder, or (as root,
    /// who ignores modes) /sys where the kernel refuses new files. nil when there is none.
    func unwritableFolder() -> String? {
        func refuses(_ dir: String) -> Bool {
            let probe = dir + "/.cnf-probe-\(getpid())"
            let fd = open(probe, O_CREAT | O_WRONLY, 0o644)
            if fd >= 0 { close(fd); unlink(probe); return false }
            return true
        }
        let locked = path("locked")
        try? FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        chmod(locked, 0o555)
        if refuses(locked) { return locked }
        if FileManager.default.fileExists(atPath: "/sys") && refuses("/sys") { return "/sys" }
        return nil
    }

    func testUnwritableFolderThrowsAndLeavesNoTemporaryFile() throws {
        guard let dir = unwritableFolder() else { throw XCTSkip("no unwritable folder available") }
        let before = contents(dir)
        assertWriteFails(dir + "/x.png", mentioning: ["Permission denied"])
        XCTAssertEqual(contents(dir), before)
    }

    func testFailedRenameRemovesTheTemporaryFile() throws {
        // The target is a non-empty folder: the PNG is written, but rename(2) must fail.
        try FileManager.default.createDirectory(atPath: path("taken.png/inner"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try writePNG(noise(width: 4, height: 4, opaque: true, seed: 6), to: path("taken.png"))) {
            XCTAssertTrue(String(describing: $0).contains(self.path("taken.png")))
        }
        XCTAssertEqual(contents(folder), ["taken.png"])
        XCTAssertEqual(contents(path("taken.png")), ["inner"])
    }

    #if os(Linux)
    /// A write that fails part way (the file-size limit stands in for a full disk) throws
    /// libpng's reason and leaves neither the picture nor the temporary file.
    func testWriteErrorPartWayLeavesNothing() throws {
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var small = old
        small.rlim_cur = 2000
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
            signal(SIGXFSZ, oldHandler)
        }
        let big = noise(width: 200, height: 200, opaque: false, seed: 7)  // ~160 kB of noise
        XCTAssertThrowsError(try writePNG(big, to: path("big.png"))) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(self.path("big.png")), text)
            XCTAssertTrue(text.contains("File too large"), "the system's reason: \(text)")
        }
        XCTAssertEqual(contents(folder), [])
    }
    #endif

    func testReadingAMissingOrBrokenFileThrowsNamingIt() throws {
        XCTAssertThrowsError(try readPNG(path("absent.png"))) {
            XCTAssertTrue(String(describing: $0).contains(self.path("absent.png")))
        }
        _ = FileManager.default.createFile(atPath: path("junk.png"), contents: Data("not a png".utf8))
        XCTAssertThrowsError(try readPNG(path("junk.png"))) { error in
            guard case RenderError.cannotRead(let p, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, self.path("junk.png"))
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testEmptyImageIsRefused() {
        XCTAssertThrowsError(try writePNG(Image(width: 0, height: 3), to: path("empty.png"))) {
            XCTAssertTrue(String(describing: $0).contains("empty"), "\($0)")
        }
        XCTAssertEqual(contents(folder), [])
    }
}
