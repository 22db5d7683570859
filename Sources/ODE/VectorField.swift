/// A vector field dy/dt = f(t, y) over a flat state vector of `dimension` Doubles.
///
/// Classes, not structs: a field owns work buffers that it reuses on every call, so an
/// evaluation allocates nothing.
public protocol VectorField: AnyObject {
    var dimension: Int { get }
    /// Writes f(t, y) to `dy`. `y` and `dy` never alias.
    func evaluate(t: Double, y: UnsafePointer<Double>, dy: UnsafeMutablePointer<Double>)
}

/// A vector field with parameters θ that offers vector-Jacobian products: what the
/// adjoint method and backpropagation through the solver need.
public protocol DifferentiableVectorField: VectorField {
    var parameterCount: Int { get }
    /// Given a cotangent `a` (length `dimension`), writes f(t, y) to `dy`,
    /// aᵀ ∂f/∂y to `yBar` (length `dimension`) and aᵀ ∂f/∂θ to `thetaBar`
    /// (length `parameterCount`), overwriting all three.
    func vectorJacobianProduct(t: Double, y: UnsafePointer<Double>, cotangent a: UnsafePointer<Double>,
                               dy: UnsafeMutablePointer<Double>, yBar: UnsafeMutablePointer<Double>,
                               thetaBar: UnsafeMutablePointer<Double>)
}
