import CNFCore

/// A network y = f(x, t; θ) evaluated in forward mode with k tangents, with a backward pass.
///
/// Buffers are stacked: a batch of `rows` samples, row-major, with the k tangent blocks below
/// the primal, `(1 + k)·rows` rows in all:
///
///     input  = [x; ẋ₁; …; ẋ_k]      output = [f; u₁; …; u_k],   u_j = (∂f/∂x) ẋ_j
///
/// so one matrix product per layer carries the primal and every tangent. `backward` takes the
/// cotangents stacked the same way, [f̄; ū₁; …; ū_k], and returns
/// x̄ = f̄ ∂f/∂x + Σ_j ū_j ∂u_j/∂x (rows × width, the tangent inputs are constants) and adds
/// θ̄ = f̄ ∂f/∂θ + Σ_j ū_j ∂u_j/∂θ into `thetaBar`.
///
/// Concurrency: `forward`/`backward` only read the network, so several threads may run them at
/// once with distinct workspaces. Neither allocates.
public protocol DualNetwork: AnyObject {
    associatedtype Scalar: BLASScalar
    /// d: the input width, which equals the output width for a dynamics network.
    var dimension: Int { get }
    var parameterCount: Int { get }
    /// θ as one flat vector in the layout of `parameterTensors`.
    var parameters: [Scalar] { get set }
    /// Named views into θ for checkpoints (PyTorch-style names and shapes).
    var parameterTensors: [ParameterTensor] { get }
    /// θ in place (for an optimizer step without copies).
    func withParameters<R>(_ body: (MutableBufferView<Scalar>) throws -> R) rethrows -> R

    /// Writes `output` ((1 + k)·rows × d) from `input` ((1 + k)·rows × d); keeps in `workspace`
    /// what `backward` needs. Requires rows ≤ workspace.maxRows and k ≤ workspace.maxTangents.
    func forward(t: Scalar, input: BufferView<Scalar>, rows: Int, tangents k: Int,
                 output: MutableBufferView<Scalar>, workspace: DualWorkspace<Scalar>)
    /// `forward` when no `backward` follows (a solve without gradients): the same output, bit
    /// for bit; it may keep less, and `backward` then refuses the workspace until a `forward`.
    func evaluate(t: Scalar, input: BufferView<Scalar>, rows: Int, tangents k: Int,
                  output: MutableBufferView<Scalar>, workspace: DualWorkspace<Scalar>)
    /// After `forward` with the same workspace: `outputBar` is [f̄; ū₁..k] ((1 + k)·rows × d);
    /// writes x̄ (rows × d) to `inputBar` and ADDS θ̄ into `thetaBar` (parameterCount values).
    func backward(outputBar: BufferView<Scalar>, inputBar: MutableBufferView<Scalar>,
                  thetaBar: MutableBufferView<Scalar>, workspace: DualWorkspace<Scalar>)
    /// Buffers for batches of up to `maxRows` samples and `k` tangent blocks.
    func makeWorkspace(maxRows: Int, tangents k: Int) -> DualWorkspace<Scalar>
}

extension DualNetwork {
    /// Networks that keep nothing they could skip: `forward`.
    public func evaluate(t: Scalar, input: BufferView<Scalar>, rows: Int, tangents k: Int,
                         output: MutableBufferView<Scalar>, workspace: DualWorkspace<Scalar>) {
        forward(t: t, input: input, rows: rows, tangents: k, output: output, workspace: workspace)
    }

    /// `forward` on arrays (tests, one-off evaluations); `output` must have its length.
    public func forward(t: Scalar, input: [Scalar], rows: Int, tangents k: Int,
                        output: inout [Scalar], workspace: DualWorkspace<Scalar>) {
        input.withBufferView { input in
            output.withMutableBufferView { output in
                forward(t: t, input: input, rows: rows, tangents: k, output: output, workspace: workspace)
            }
        }
    }

    /// `backward` on arrays (tests); `inputBar` and `thetaBar` must have their lengths.
    public func backward(outputBar: [Scalar], inputBar: inout [Scalar], thetaBar: inout [Scalar],
                         workspace: DualWorkspace<Scalar>) {
        outputBar.withBufferView { outputBar in
            inputBar.withMutableBufferView { inputBar in
                thetaBar.withMutableBufferView { thetaBar in
                    backward(outputBar: outputBar, inputBar: inputBar, thetaBar: thetaBar, workspace: workspace)
                }
            }
        }
    }
}

/// A named slice of a network's flat parameter vector: `shape.product` values from `offset`,
/// row-major.
public struct ParameterTensor: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int], offset: Int) {
        self.name = name
        self.shape = shape
        self.offset = offset
    }
}

/// Pre-allocated buffers for one network's forward and backward passes: one 64-byte-aligned
/// allocation cut into regions whose meaning belongs to the network that made it.
///
/// A workspace serves one thread at a time. `forward` records the rows, tangent count and time
/// it ran with, which `backward` replays.
public final class DualWorkspace<Scalar: BLASScalar> {
    public let maxRows: Int
    public let maxTangents: Int
    /// Rows, tangent blocks and time of the last `forward`.
    public private(set) var rows = 0
    public private(set) var tangents = 0
    public private(set) var time: Scalar = 0
    /// Set by `begin` (so by `forward`); `backward` refuses a workspace that has not seen one.
    public private(set) var ready = false

    /// The regions, in the order of `regionSizes`: a network's own layout.
    public let regions: [MutableBufferView<Scalar>]
    /// Owns the regions' memory.
    private let storage: AlignedBuffer<Scalar>

    /// The network that laid the regions out; others refuse this workspace.
    public let owner: ObjectIdentifier

    /// - Parameters:
    ///   - regionSizes: element counts; each region starts on a 64-byte boundary and is
    ///     zero-filled.
    ///   - owner: the network the layout belongs to.
    public init(maxRows: Int, tangents: Int, regionSizes: [Int], owner: AnyObject) {
        precondition(maxRows >= 0 && tangents >= 0,
                     "workspace needs maxRows ≥ 0 and tangents ≥ 0, got \(maxRows), \(tangents)")
        self.maxRows = maxRows
        self.maxTangents = tangents
        self.owner = ObjectIdentifier(owner)
        storage = AlignedBuffer(regionSizes: regionSizes)
        regions = storage.regions
    }

    /// Checks a forward call against the capacity and records it (a network's `forward`
    /// calls this first).
    @inline(__always)
    /// - Parameter keep: whether the pass keeps what `backward` needs (`ready` afterwards).
    public func begin(rows: Int, tangents k: Int, time: Scalar, keep: Bool = true) {
        precondition(rows >= 0 && rows <= maxRows, "forward with \(rows) rows, workspace holds \(maxRows)")
        precondition(k >= 0 && k <= maxTangents, "forward with \(k) tangents, workspace holds \(maxTangents)")
        self.rows = rows
        self.tangents = k
        self.time = time
        ready = keep
    }
}
