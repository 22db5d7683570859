import CPNG
import Foundation

/// A failure to write or read a picture. `description` is one line naming the file and
/// the reason, e.g. `cannot write PNG 'out/a.png': folder 'out' does not exist`.
public enum RenderError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case cannotWrite(path: String, reason: String)
    case cannotRead(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "cannot write PNG '\(path)': \(reason)"
        case let .cannotRead(path, reason): return "cannot read PNG '\(path)': \(reason)"
        }
    }
    public var errorDescription: String? { description }
}

// libpng's format macros are expressions, which Swift does not import.
private let formatRGB: UInt32 = 0x02   // PNG_FORMAT_FLAG_COLOR
private let formatRGBA: UInt32 = 0x03  // PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA

/// The text libpng left in `image.message`.
private func message(of image: png_image) -> String {
    withUnsafeBytes(of: image.message) { raw in
        let bytes = raw.prefix { $0 != 0 }
        let s = String(decoding: bytes, as: UTF8.self)
        return s.isEmpty ? "libpng error" : s
    }
}

private func systemError(_ code: Int32) -> String { String(cString: strerror(code)) }

/// Writes `image` as an 8-bit PNG at `path` (RGB when every pixel is opaque, RGBA
/// otherwise; pixel values are stored exactly).
///
/// The picture goes to a temporary file beside `path` first (`.<name>.<pid>.<random>.tmp`),
/// which is then renamed over `path`; a failed write removes the temporary file, so
/// `path` is either the complete new picture or untouched.
///
/// - Throws: `RenderError.cannotWrite` naming `path` and the reason: a missing folder, a
///   folder that is not a folder, libpng's message (which carries `strerror` for an
///   unwritable folder or a full disk), or the `rename` error.
public func writePNG(_ image: Image, to path: String) throws {
    guard image.width > 0, image.height > 0 else {
        throw RenderError.cannotWrite(path: path, reason: "image is empty (\(image.width)×\(image.height))")
    }
    let parent = (path as NSString).deletingLastPathComponent
    let folder = parent.isEmpty ? "." : parent
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
        throw RenderError.cannotWrite(path: path, reason: "folder '\(folder)' does not exist")
    }
    guard isDir.boolValue else {
        throw RenderError.cannotWrite(path: path, reason: "'\(folder)' is not a folder")
    }
    let temp = folder + "/." + (path as NSString).lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"

    let opaque = stride(from: 3, to: image.pixels.count, by: 4).allSatisfy { image.pixels[$0] == 255 }
    let buffer = libpngPixels(image, opaque: opaque)
    var png = libpngImage(image, opaque: opaque)
    errno = 0
    let ok = buffer.withUnsafeBytes { raw in
        png_image_write_to_file(&png, temp, 0, raw.baseAddress, 0, nil)
    }
    guard ok != 0 else {
        // libpng says "Write Error" when fwrite fails; the system's reason (a full disk,
        // a file-size limit) is still in errno.
        let code = errno
        var reason = message(of: png)
        if code != 0 && !reason.contains(systemError(code)) { reason += " (\(systemError(code)))" }
        png_image_free(&png)
        unlink(temp)  // libpng removes its partial file; make sure.
        throw RenderError.cannotWrite(path: path, reason: reason)
    }
    guard rename(temp, path) == 0 else {
        let reason = systemError(errno)
        unlink(temp)
        throw RenderError.cannotWrite(path: path, reason: reason)
    }
}

/// Reads a PNG of any colour type and bit depth as 8-bit RGBA (libpng converts grey,
/// palette and 16-bit files; a file without alpha reads as opaque).
///
/// - Throws: `RenderError.cannotRead` naming `path` and libpng's reason.
public func readPNG(_ path: String) throws -> Image {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&png, path) != 0 else {
        // libpng frees the image itself on failure.
        throw RenderError.cannotRead(path: path, reason: message(of: png))
    }
    png.format = formatRGBA
    let width = Int(png.width), height = Int(png.height)
    var rgba = [UInt8](repeating: 0, count: 4 * width * height)
    let ok = rgba.withUnsafeMutableBytes { raw in
        png_image_finish_read(&png, nil, raw.baseAddress, 0, nil)
    }
    guard ok != 0 else {
        let reason = message(of: png)
        png_image_free(&png)
        throw RenderError.cannotRead(path: path, reason: reason)
    }
    return Image(width: width, height: height, rgba: rgba)
}

/// The pixel bytes libpng's simplified API is handed for `image`: RGB when `opaque` (the alpha
/// channel is all 255 and is dropped, a quarter smaller), else RGBA.
func libpngPixels(_ image: Image, opaque: Bool) -> [UInt8] {
    guard opaque else { return image.pixels }
    var buffer = [UInt8](repeating: 0, count: 3 * image.width * image.height)
    var j = 0
    for k in stride(from: 0, to: image.pixels.count, by: 4) {
        buffer[j] = image.pixels[k]; buffer[j + 1] = image.pixels[k + 1]; buffer[j + 2] = image.pixels[k + 2]
        j += 3
    }
    return buffer
}

/// libpng's description of `image` for `libpngPixels(image, opaque:)`.
func libpngImage(_ image: Image, opaque: Bool) -> png_image {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    png.width = UInt32(image.width)
    png.height = UInt32(image.height)
    png.format = opaque ? formatRGB : formatRGBA
    return png
}
