import Foundation
import Render

/// The animated sample and density sequences (APNG) and which frames the static strips show.
enum Sequences {
    /// Frames of a sequence by default: enough for a smooth animation.
    static let defaultFrames = 41
    /// Seconds per frame, and for the last frame (held so the result is seen before the loop).
    static let delay = 0.08, lastDelay = 2.0

    /// At most `limit` frame indices, evenly spread, always the first and the last: the
    /// frames the static strip shows (41 panels side by side would be unreadable).
    static func stripIndices(_ frames: Int, limit: Int = 9) -> [Int] {
        guard frames > limit else { return Array(0..<frames) }
        return (0..<limit).map { Int((Double($0) * Double(frames - 1) / Double(limit - 1)).rounded()) }
    }

    /// Writes `frames` as an animated PNG and says so.
    static func writeAnimation(_ frames: [Image], to path: String) throws {
        try writeAPNG(frames, to: path, delay: delay, lastDelay: lastDelay)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        say(String(format: "wrote %@ (%d frames, %.2f MB)", path, frames.count, Double(bytes) / 1e6))
    }
}
