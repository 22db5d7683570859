import CPNG
import Foundation

// Animated PNG (APNG, https://wiki.mozilla.org/APNG_Specification). Debian's libpng has no
// APNG API, so each frame is encoded by libpng into memory as an ordinary PNG and its
// compressed data is re-chunked:
//
//     signature, IHDR, acTL(frames, plays = 0),
//     fcTL(seq 0), IDAT…              ← frame 0, also the still image of non-APNG viewers
//     fcTL(seq 1), fdAT(seq 2)…       ← frame 1 (fdAT = sequence number + IDAT data)
//     …, IEND
//
// Sequence numbers count fcTL and fdAT chunks together from 0; every chunk carries its CRC-32.

/// CRC-32 as PNG uses it (ISO 3309, polynomial 0xEDB88320), over chunk type + data.
public func pngCRC(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}

private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

let pngSignature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

/// One chunk of a PNG file.
public struct PNGChunk: Equatable, Sendable {
    public var type: String
    public var data: [UInt8]
    public init(type: String, data: [UInt8]) { self.type = type; self.data = data }

    /// Length, type, data and CRC, as stored in a file.
    var bytes: [UInt8] {
        let t = Array(type.utf8)
        return be32(UInt32(data.count)) + t + data + be32(pngCRC(t + data))
    }
}

func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
func readBE32(_ b: ArraySlice<UInt8>) -> UInt32 {
    let i = b.startIndex
    return UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

/// The chunks of a PNG file, each CRC checked.
/// - Throws: `RenderError.cannotRead` for a bad signature, a truncated chunk or a bad CRC.
public func pngChunks(_ file: [UInt8], path: String = "<memory>") throws -> [PNGChunk] {
    guard file.count >= 8, Array(file[0..<8]) == pngSignature else {
        throw RenderError.cannotRead(path: path, reason: "not a PNG file (bad signature)")
    }
    var chunks: [PNGChunk] = [], k = 8
    while k < file.count {
        guard k + 12 <= file.count else { throw RenderError.cannotRead(path: path, reason: "truncated chunk at byte \(k)") }
        let n = Int(readBE32(file[k..<(k + 4)]))
        guard k + 12 + n <= file.count else { throw RenderError.cannotRead(path: path, reason: "truncated chunk at byte \(k)") }
        let type = String(decoding: file[(k + 4)..<(k + 8)], as: UTF8.self)
        let data = Array(file[(k + 8)..<(k + 8 + n)])
        let crc = readBE32(file[(k + 8 + n)..<(k + 12 + n)])
        guard crc == pngCRC(file[(k + 4)..<(k + 8 + n)]) else {
            throw RenderError.cannotRead(path: path, reason: "bad CRC in \(type) chunk at byte \(k)")
        }
        chunks.append(PNGChunk(type: type, data: data))
        k += 12 + n
    }
    return chunks
}

/// `image` encoded by libpng as a PNG in memory (RGB when `opaque`, else RGBA).
func encodePNG(_ image: Image, opaque: Bool, path: String) throws -> [UInt8] {
    let buffer = libpngPixels(image, opaque: opaque)
    var png = libpngImage(image, opaque: opaque)
    var size = 0
    // First call measures, second writes.
    let measured = buffer.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil) }
    guard measured != 0, size > 0 else {
        png_image_free(&png)
        throw RenderError.cannotWrite(path: path, reason: "libpng could not encode a frame")
    }
    var out = [UInt8](repeating: 0, count: size)
    let ok = out.withUnsafeMutableBytes { dst in
        buffer.withUnsafeBytes { png_image_write_to_memory(&png, dst.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
    }
    guard ok != 0 else {
        png_image_free(&png)
        throw RenderError.cannotWrite(path: path, reason: "libpng could not encode a frame")
    }
    return Array(out.prefix(size))
}

/// Writes `frames` (all the same size) as an animated PNG that loops forever: each frame
/// shown `delay` seconds, the last one `lastDelay` seconds (held, so the end result is
/// seen before the loop restarts). Frame 0 is also the still image that viewers without
/// APNG support show. Written to a temporary file, then renamed over `path`.
///
/// - Throws: `RenderError.cannotWrite` naming `path`: no frames, frames of different
///   sizes, a missing folder, or the system's reason.
public func writeAPNG(_ frames: [Image], to path: String, delay: Double = 0.1, lastDelay: Double = 1.5) throws {
    guard let first = frames.first else { throw RenderError.cannotWrite(path: path, reason: "no frames") }
    for (k, f) in frames.enumerated() where f.width != first.width || f.height != first.height {
        throw RenderError.cannotWrite(path: path, reason: "frame \(k) is \(f.width)×\(f.height), frame 0 is \(first.width)×\(first.height)")
    }
    guard first.width > 0, first.height > 0 else {
        throw RenderError.cannotWrite(path: path, reason: "image is empty (\(first.width)×\(first.height))")
    }
    // One colour type for all frames: they share the IHDR.
    let opaque = frames.allSatisfy { f in stride(from: 3, to: f.pixels.count, by: 4).allSatisfy { f.pixels[$0] == 255 } }
    var out = pngSignature
    var sequence: UInt32 = 0
    func delayFraction(_ seconds: Double) -> [UInt8] {
        be16(UInt16(Swift.min(Swift.max((seconds * 1000).rounded(), 0), 65535))) + be16(1000)
    }
    for (k, frame) in frames.enumerated() {
        let chunks = try pngChunks(try encodePNG(frame, opaque: opaque, path: path), path: path)
        if k == 0 {
            guard let ihdr = chunks.first(where: { $0.type == "IHDR" }) else {
                throw RenderError.cannotWrite(path: path, reason: "libpng wrote no IHDR")
            }
            out += ihdr.bytes
            out += PNGChunk(type: "acTL", data: be32(UInt32(frames.count)) + be32(0)).bytes
        }
        let fctl = be32(sequence) + be32(UInt32(frame.width)) + be32(UInt32(frame.height)) + be32(0) + be32(0)
            + delayFraction(k == frames.count - 1 ? lastDelay : delay) + [0, 0]  // dispose none, blend source
        out += PNGChunk(type: "fcTL", data: fctl).bytes
        sequence += 1
        for idat in chunks where idat.type == "IDAT" {
            if k == 0 {
                out += idat.bytes
            } else {
                out += PNGChunk(type: "fdAT", data: be32(sequence) + idat.data).bytes
                sequence += 1
            }
        }
    }
    out += PNGChunk(type: "IEND", data: []).bytes
    try writeAtomically(out, to: path)
}

/// `bytes` to a temporary file beside `path`, then renamed over it.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let parent = (path as NSString).deletingLastPathComponent
    let folder = parent.isEmpty ? "." : parent
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
        throw RenderError.cannotWrite(path: path, reason: "folder '\(folder)' does not exist")
    }
    let temp = folder + "/." + (path as NSString).lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    guard FileManager.default.createFile(atPath: temp, contents: Data(bytes)) else {
        throw RenderError.cannotWrite(path: path, reason: "cannot create '\(temp)'")
    }
    guard rename(temp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temp)
        throw RenderError.cannotWrite(path: path, reason: reason)
    }
}

/// An APNG read back: its frames decoded, with each frame's delay in seconds.
public struct APNG {
    public var frames: [Image]
    public var delays: [Double]
    public var plays: Int
}

/// Reads an animated PNG written by `writeAPNG` (full-size frames): checks the chunk order,
/// CRCs and sequence numbers, and decodes every frame with libpng.
/// - Throws: `RenderError.cannotRead` naming the first problem.
public func readAPNG(_ path: String) throws -> APNG {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw RenderError.cannotRead(path: path, reason: "cannot read the file")
    }
    let chunks = try pngChunks(Array(data), path: path)
    func fail(_ why: String) -> RenderError { .cannotRead(path: path, reason: why) }
    guard chunks.first?.type == "IHDR" else { throw fail("first chunk is not IHDR") }
    guard chunks.last?.type == "IEND" else { throw fail("last chunk is not IEND") }
    guard let actlIndex = chunks.firstIndex(where: { $0.type == "acTL" }) else { throw fail("no acTL chunk: not animated") }
    guard let firstIDAT = chunks.firstIndex(where: { $0.type == "IDAT" }), actlIndex < firstIDAT else {
        throw fail("acTL must come before the IDAT chunks")
    }
    let actl = chunks[actlIndex].data
    let declared = Int(readBE32(actl[0..<4])), plays = Int(readBE32(actl[4..<8]))
    let ihdr = chunks[0]
    var expected: UInt32 = 0
    var frameData: [[UInt8]] = [], delays: [Double] = []
    var current: [UInt8]? = nil
    for c in chunks {
        switch c.type {
        case "fcTL":
            guard readBE32(c.data[0..<4]) == expected else { throw fail("fcTL has sequence number \(readBE32(c.data[0..<4])), expected \(expected)") }
            expected += 1
            if let cur = current { frameData.append(cur) }
            current = []
            let num = Double(UInt16(c.data[20]) << 8 | UInt16(c.data[21]))
            var den = Double(UInt16(c.data[22]) << 8 | UInt16(c.data[23]))
            if den == 0 { den = 100 }
            delays.append(num / den)
            let w = readBE32(c.data[4..<8]), h = readBE32(c.data[8..<12])
            guard w == readBE32(ihdr.data[0..<4]), h == readBE32(ihdr.data[4..<8]) else { throw fail("frame \(delays.count - 1) is not full size") }
        case "IDAT":
            guard current != nil else { throw fail("IDAT before the first fcTL (a still image outside the animation)") }
            current! += c.data
        case "fdAT":
            guard readBE32(c.data[0..<4]) == expected else { throw fail("fdAT has sequence number \(readBE32(c.data[0..<4])), expected \(expected)") }
            expected += 1
            guard current != nil else { throw fail("fdAT before any fcTL") }
            current! += c.data[4...]
        default: break
        }
    }
    if let cur = current { frameData.append(cur) }
    guard frameData.count == declared else { throw fail("acTL declares \(declared) frames, found \(frameData.count)") }
    var frames: [Image] = []
    for (k, idat) in frameData.enumerated() {
        let single = pngSignature + ihdr.bytes + PNGChunk(type: "IDAT", data: idat).bytes + PNGChunk(type: "IEND", data: []).bytes
        frames.append(try decodePNG(single, path: "\(path) frame \(k)"))
    }
    return APNG(frames: frames, delays: delays, plays: plays)
}

/// A PNG in memory decoded to 8-bit RGBA.
func decodePNG(_ bytes: [UInt8], path: String) throws -> Image {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&png, $0.baseAddress, $0.count) }
    guard begun != 0 else { throw RenderError.cannotRead(path: path, reason: "libpng cannot decode it") }
    png.format = 0x03
    let width = Int(png.width), height = Int(png.height)
    var rgba = [UInt8](repeating: 0, count: 4 * width * height)
    let ok = rgba.withUnsafeMutableBytes { png_image_finish_read(&png, nil, $0.baseAddress, 0, nil) }
    guard ok != 0 else {
        png_image_free(&png)
        throw RenderError.cannotRead(path: path, reason: "libpng cannot decode it")
    }
    return Image(width: width, height: height, rgba: rgba)
}
