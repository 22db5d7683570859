import CNFCore
import ODE

/// Conditional flow matching (Lipman et al. 2023; Tong et al. 2023, the independent coupling):
/// a simulation-free regression of the same vector field, used for the first `training.flowMatching` iterations as
/// a warm start before maximum likelihood. No ODE is solved: each iteration costs one network
/// evaluation and one vector–Jacobian product per group of points (tens of times cheaper than a
/// likelihood iteration's forward and adjoint solves).
///
/// With the data x₀ at flow time 0 and a base draw x₁ ~ N(0, I) at the flow's end ΣT (the
/// FFJORD convention of the rest of the model), the straight path and its velocity are
///
///     x_τ = (1 − τ/ΣT) x₀ + (τ/ΣT) x₁,      u = (x₁ − x₀)/ΣT,
///
/// and the loss is L = (1/N) Σ_i ‖f_b(x_τᵢ, τᵢ − start_b) − uᵢ‖², with block b the one whose
/// time span holds τᵢ. Its minimizer over all fields is the marginal velocity whose flow carries
/// the data to N(0, I) — the same map maximum likelihood looks for, found without the adjoint.
///
/// The network takes one time per call, so the batch is cut into `groups` equal groups with
/// stratified times τ_g ∈ [g/G, (g+1)/G)·ΣT (one uniform draw each): every part of the path is
/// visited in every batch. Integration times are not trained here (their gradient is 0).
extension CNF {
    /// The loss above and its gradient over `parameterVector`.
    ///
    /// - Parameters:
    ///   - points: x₀, N × d row-major (N a multiple of `groups`).
    ///   - base: x₁, N × d draws of N(0, I).
    ///   - times: one uniform draw in [0, 1) per group (stratified inside).
    /// - Complexity: O(N · network cost) — per group one evaluation and one VJP (which
    ///   repeats the evaluation's forward pass).
    public func flowMatchingLoss(points: [Double], base: [Double], times: [Double]) -> (loss: Double, gradient: [Double]) {
        let d = dimension, n = points.count / d, groups = times.count
        precondition(points.count == n * d && base.count == points.count, "points and base must both be N × \(d)")
        precondition(groups >= 1 && n % groups == 0, "the batch (\(n)) must split into \(groups) equal groups")
        let m = n / groups
        let ends = endTimes
        let total = ends.reduce(0, +)
        let fields = dynamics(batch: m, divergence: .off)
        let np = networkParameterCount
        var gradient = [Double](repeating: 0, count: parameterCount)
        var loss = 0.0
        var x = [Double](repeating: 0, count: m * d), target = x, f = x, cotangent = x, xBar = x
        var thetaBar = [Double](repeating: 0, count: np)
        for g in 0..<groups {
            let s = (Double(g) + times[g]) / Double(groups)      // τ/ΣT ∈ [0, 1)
            var tau = s * total, b = 0
            while b < ends.count - 1 && tau >= ends[b] { tau -= ends[b]; b += 1 }
            for i in 0..<(m * d) {
                let x0 = points[g * m * d + i], x1 = base[g * m * d + i]
                x[i] = (1 - s) * x0 + s * x1
                target[i] = (x1 - x0) / total
            }
            fields[b].evaluate(t: tau, y: x, dy: &f)
            for i in 0..<(m * d) {
                let r = f[i] - target[i]
                loss += r * r
                cotangent[i] = 2 * r / Double(n)
            }
            fields[b].vectorJacobianProduct(t: tau, y: x, cotangent: cotangent, dy: &f, yBar: &xBar, thetaBar: &thetaBar)
            for i in 0..<np { gradient[b * np + i] += thetaBar[i] }
        }
        return (loss / Double(n), gradient)
    }
}
