/// A vector field dy/dt = f(t, y) over a flat state vector of `dimension` Doubles.
///
/// Classes, not structs: a field owns work buffers that it reuses on every call, so an
/// evaluation allocates nothing. The solver hands it views of its own buffers (`StateVector`,
/// `MutableStateVector`: no copies, valid during the call only).
public protocol VectorField: AnyObject {
    var dimension: Int { get }
    /// How many leading components of y `evaluate` reads (default: all). The rest are
    /// quadratures — integrated, never fed back (the adjoint's θ̄) — so a Runge–Kutta step
    /// needs their stage inputs only where they become the new state (an FSAL last stage).
    var inputDimension: Int { get }
    /// Writes f(t, y) to `dy`. `y` and `dy` never alias.
    func evaluate(t: Double, y: StateVector, dy: MutableStateVector)
}

/// A vector field with parameters θ that offers vector-Jacobian products: what the
/// adjoint method and backpropagation through the solver need.
public protocol DifferentiableVectorField: VectorField {
    var parameterCount: Int { get }
    /// Given a cotangent `a` (length `dimension`), writes f(t, y) to `dy`,
    /// aᵀ ∂f/∂y to `yBar` (length `dimension`) and aᵀ ∂f/∂θ to `thetaBar`
    /// (length `parameterCount`), overwriting all three.
    func vectorJacobianProduct(t: Double, y: StateVector, cotangent a: StateVector,
                               dy: MutableStateVector, yBar: MutableStateVector,
                               thetaBar: MutableStateVector)
}

extension VectorField {
    public var inputDimension: Int { dimension }

    /// `evaluate` on arrays (tests, one-off evaluations). `dy` must hold `dimension` values.
    public func evaluate(t: Double, y: [Double], dy: inout [Double]) {
        y.withStateVector { y in dy.withMutableStateVector { dy in evaluate(t: t, y: y, dy: dy) } }
    }
}

extension DifferentiableVectorField {
    /// `vectorJacobianProduct` on arrays (tests, one-off products); the outputs must have
    /// their lengths already (`dimension`, `dimension`, `parameterCount`).
    public func vectorJacobianProduct(t: Double, y: [Double], cotangent a: [Double],
                                      dy: inout [Double], yBar: inout [Double], thetaBar: inout [Double]) {
        y.withStateVector { y in
            a.withStateVector { a in
                dy.withMutableStateVector { dy in
                    yBar.withMutableStateVector { yBar in
                        thetaBar.withMutableStateVector { thetaBar in
                            vectorJacobianProduct(t: t, y: y, cotangent: a, dy: dy, yBar: yBar, thetaBar: thetaBar)
                        }
                    }
                }
            }
        }
    }
}
