import ArgumentParser
import Networks
import Flow
import Training
import Persistence
import ODE

extension SolverMethod: ExpressibleByArgument {}
extension FitConfig.Trace: ExpressibleByArgument {}
extension GradientRoute: ExpressibleByArgument {}
extension FitConfig.Precision: ExpressibleByArgument {}
extension FitConfig.Schedule: ExpressibleByArgument {}
extension FitConfig.Preset: ExpressibleByArgument {}
extension NoiseDistribution: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension LayerType: ExpressibleByArgument {}

/// "64-64-64" → [64, 64, 64].
func parseDims(_ s: String) throws -> [Int] {
    let parts = s.split(separator: "-", omittingEmptySubsequences: false)
    let dims = parts.compactMap { Int($0) }
    guard dims.count == parts.count, !dims.isEmpty, dims.allSatisfy({ $0 > 0 }) else {
        throw ValidationError("--dims must be positive widths joined by '-', like 64-64-64; got '\(s)'")
    }
    return dims
}
