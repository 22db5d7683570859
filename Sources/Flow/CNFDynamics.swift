import CNFCore
import Networks
import Dispatch
import ODE

/// How the CNF's log-density change dℓ/dt = −tr(∂f/∂z) is computed.
public enum Divergence: String, CaseIterable, Sendable, Codable {
    /// d tangent blocks e₁…e_d: tr J = Σ_j (J e_j)_j. Exact; costs d Jacobian-vector products.
    case exact
    /// One tangent block ε held fixed across a solve: tr J ≈ εᵀ J ε (unbiased when
    /// E[εεᵀ] = I, e.g. Rademacher or standard normal ε).
    case hutchinson
    /// No density state at all: the state is z alone (sampling without the density).
    case off
}

/// The distribution of Hutchinson's noise ε.
public enum NoiseDistribution: String, CaseIterable, Sendable, Codable {
    /// ±1 with probability ½ each (FFJORD's default: lowest variance of εᵀJε).
    case rademacher
    /// N(0, 1).
    case gaussian
}

/// Where each part of the CNF state sits in the flat Double vector the solvers see:
/// s = [z (N×d row-major) | ℓ (N) | K (N, kinetic) | Jf (N, Jacobian)].
public struct CNFStateLayout: Equatable, Sendable {
    public let batchSize: Int
    public let dataDimension: Int
    public let z: Range<Int>
    /// ℓ: the integral of −tr J (nil when the divergence is `.off`).
    public let logDensity: Range<Int>?
    /// K: the integral of ‖f‖² (RNODE's kinetic energy), when on.
    public let kineticEnergy: Range<Int>?
    /// Jf: the integral of ‖J ε‖² (Hutchinson) or ‖J‖²_F (exact), when on.
    public let jacobianFrobenius: Range<Int>?
    /// The length of the state: N·(d + number of scalar states).
    public let dimension: Int

    init(batchSize n: Int, dataDimension d: Int, density: Bool, kinetic: Bool, jacobian: Bool) {
        batchSize = n
        dataDimension = d
        var next = n * d
        func take(_ on: Bool) -> Range<Int>? {
            guard on else { return nil }
            defer { next += n }
            return next..<(next + n)
        }
        z = 0..<(n * d)
        logDensity = take(density)
        kineticEnergy = take(kinetic)
        jacobianFrobenius = take(jacobian)
        dimension = next
    }
}

/// A continuous normalizing flow as an ODE vector field over a batch of N points
/// (FFJORD; see DESIGN.md "Mathematics"):
///
///     dz/dt = f(z, t),   dℓ/dt = −div f,   dK/dt = ‖f‖²,   dJf/dt = ‖u‖²   (per sample)
///
/// with u = J ε (Hutchinson, div ≈ εᵀu) or u_j = J e_j (exact, div = Σ_j (u_j)_j, ‖u‖² = ‖J‖²_F).
/// The vector–Jacobian product with cotangent a = (a_z, a_ℓ, a_K, a_J) is one backward pass of
/// the network with f̄ = a_z + 2a_K f and ū = −a_ℓ ε + 2a_J u; g does not depend on ℓ, K, Jf,
/// so their cotangent outputs are 0.
///
/// The solvers' state is Double; the network may be Float: values are converted at this
/// boundary and the per-sample sums are accumulated in Double.
///
/// Parallelism: the batch is split into a fixed number of chunks (`chunks`), each with its own
/// workspace and θ̄ partial, run on up to `threads` threads; partials are added in chunk order,
/// so every result is bit-identical whatever the thread count. BLAS runs single-threaded
/// (`init` sets it: OpenBLAS's own threads only slow these small products down).
/// `evaluate` and `vectorJacobianProduct` allocate nothing themselves (measured: 0 mallocs per
/// call with one thread; with more, `DispatchQueue.concurrentPerform` makes 2 small ones).
///
/// Cost (release, Float 64-64-64 concatsquash, d = 2, one core, OpenBLAS Haswell kernels):
/// N = 1000 Hutchinson: evaluate ≈ 0.63 ms, vector–Jacobian product ≈ 1.7 ms of CPU time,
/// about 60% of it in sgemm. See `DynamicsTiming`.
public final class CNFDynamics<Network: DualNetwork>: DifferentiableVectorField {
    public typealias Scalar = Network.Scalar

    public let network: Network
    public let divergence: Divergence
    public let layout: CNFStateLayout
    /// Fixed at creation: it decides the arithmetic (and so the bits) of every result.
    public let chunks: Int
    /// How many threads run the chunks (at most `chunks` are used). Results do not depend on it.
    public var threads: Int {
        didSet { precondition(threads >= 1, "threads must be ≥ 1, got \(threads)") }
    }
    /// Evaluations of g and of its vector–Jacobian product since creation or the last
    /// `resetStatistics()` (FFJORD's "NFE").
    public private(set) var evaluations = 0
    public private(set) var vectorJacobianProducts = 0

    public func resetStatistics() {
        evaluations = 0
        vectorJacobianProducts = 0
    }

    let tangents: Int
    let parts: [Chunk<Scalar>]
    /// The chunks' θ̄, in chunk order (kept so the reduction allocates nothing).
    private let partials: [BufferView<Scalar>]
    private var noiseIsSet: Bool

    public var batchSize: Int { layout.batchSize }
    public var dataDimension: Int { layout.dataDimension }
    public var dimension: Int { layout.dimension }
    public var parameterCount: Int { network.parameterCount }

    /// - Parameters:
    ///   - batchSize: N, the number of points each state holds.
    ///   - kineticEnergy, jacobianFrobenius: add RNODE's regularizer states (Jacobian needs a
    ///     divergence other than `.off`: it reuses the tangents).
    ///   - chunks: how the batch is split for parallel work; 2 matches the 2 cores here. It
    ///     changes the order of floating-point sums, so keep it fixed to reproduce a run.
    ///   - threads: threads to run the chunks on (1 = the calling thread only).
    public init(network: Network, batchSize: Int, divergence: Divergence = .hutchinson,
                kineticEnergy: Bool = false, jacobianFrobenius: Bool = false,
                chunks: Int = 2, threads: Int = 2) {
        precondition(batchSize >= 0, "batch size must be ≥ 0, got \(batchSize)")
        precondition(chunks >= 1, "chunks must be ≥ 1, got \(chunks)")
        precondition(threads >= 1, "threads must be ≥ 1, got \(threads)")
        precondition(!(jacobianFrobenius && divergence == .off),
                     "the Jacobian regularizer needs tangents: use divergence .exact or .hutchinson, not .off")
        BLAS.setThreads(1)
        let d = network.dimension
        self.network = network
        self.divergence = divergence
        self.layout = CNFStateLayout(batchSize: batchSize, dataDimension: d, density: divergence != .off,
                                     kinetic: kineticEnergy, jacobian: jacobianFrobenius)
        self.chunks = chunks
        self.threads = threads
        let k: Int
        switch divergence {
        case .exact: k = d
        case .hutchinson: k = 1
        case .off: k = 0
        }
        tangents = k
        parts = (0..<chunks).map { c in
            let start = c * batchSize / chunks, end = (c + 1) * batchSize / chunks
            return Chunk(network: network, start: start, rows: end - start, tangents: k)
        }
        partials = parts.map { $0.thetaBar.readOnly }
        noiseIsSet = divergence != .hutchinson
        if divergence == .exact {
            // Tangent block j holds e_j on every row, for good.
            for part in parts {
                for j in 0..<d {
                    for i in 0..<part.rows { part.input[((1 + j) * part.rows + i) * d + j] = 1 }
                }
            }
        }
    }

    /// A state at t = 0 for these points (N × d, row-major): z = points, every other part 0.
    public func initialState(points: [Double]) -> [Double] {
        precondition(points.count == layout.z.count,
                     "initial state needs \(layout.z.count) values (N=\(batchSize) × d=\(dataDimension)), got \(points.count)")
        return points + Array(repeating: 0, count: dimension - points.count)
    }

    // MARK: Hutchinson noise

    /// Sets ε (N × d, row-major) for every following call, until the next `setNoise`.
    /// The network sees ε rounded to `Scalar`; the divergence uses the same rounded values.
    /// - Complexity: O(N·d).
    public func setNoise(_ noise: [Double]) {
        precondition(divergence == .hutchinson, "noise is only used by the Hutchinson divergence, this field is \(divergence)")
        precondition(noise.count == layout.z.count,
                     "noise needs \(layout.z.count) values (N=\(batchSize) × d=\(dataDimension)), got \(noise.count)")
        let d = dataDimension
        noise.withStateVector { noise in
            for part in parts where part.rows > 0 {
                CNFKernels.convert(noise + part.start * d, to: part.input + part.rows * d, count: part.rows * d)
            }
        }
        noiseIsSet = true
    }

    /// Draws ε row-major from `generator` (N·d draws) and sets it; returns it.
    @discardableResult
    public func drawNoise(_ distribution: NoiseDistribution = .rademacher, using generator: inout Xoshiro256) -> [Double] {
        let noise = (0..<layout.z.count).map { _ in
            distribution == .rademacher ? generator.rademacher() : generator.normal()
        }
        setNoise(noise)
        return noise
    }

    // MARK: The vector field

    public func evaluate(t: Double, y: StateVector, dy: MutableStateVector) {
        precondition(noiseIsSet, "the Hutchinson divergence needs noise: call setNoise or drawNoise before solving")
        evaluations += 1
        let time = Scalar(t)
        run { part in
            self.forward(part, t: time, y: y, dy: dy, keep: false)
        }
    }

    public func vectorJacobianProduct(t: Double, y: StateVector, cotangent a: StateVector,
                                      dy: MutableStateVector, yBar: MutableStateVector,
                                      thetaBar: MutableStateVector) {
        precondition(noiseIsSet, "the Hutchinson divergence needs noise: call setNoise or drawNoise before solving")
        vectorJacobianProducts += 1
        let time = Scalar(t)
        run { part in
            self.forward(part, t: time, y: y, dy: dy, keep: true)
            self.backward(part, a: a, yBar: yBar)
        }
        // g does not depend on ℓ, K or Jf.
        (yBar + layout.z.count).update(repeating: 0, count: dimension - layout.z.count)
        CNFKernels.sumPartials(partials, count: parameterCount, into: thetaBar)
    }

    /// Runs `body` on every chunk: on the calling thread when one thread is asked for, else
    /// worker w takes chunks w, w + workers, … (which worker runs a chunk changes nothing).
    private func run(_ body: (Chunk<Scalar>) -> Void) {
        let workers = Swift.min(threads, chunks)
        if workers <= 1 {
            for part in parts { body(part) }
            return
        }
        let parts = self.parts
        ForkJoinPool.shared(threads: workers).run(count: chunks) { c in body(parts[c]) }
    }

    /// g on one chunk; `keep`: a backward pass follows (else the network keeps only what the
    /// output needs: same bits, fewer stores).
    private func forward(_ part: Chunk<Scalar>, t: Scalar, y: StateVector, dy: MutableStateVector, keep: Bool) {
        guard part.rows > 0 else { return }
        let d = dataDimension
        CNFKernels.convert(y + part.start * d, to: part.input, count: part.rows * d)
        if keep {
            network.forward(t: t, input: part.input.readOnly, rows: part.rows, tangents: tangents,
                            output: part.output, workspace: part.workspace)
        } else {
            network.evaluate(t: t, input: part.input.readOnly, rows: part.rows, tangents: tangents,
                             output: part.output, workspace: part.workspace)
        }
        CNFKernels.derivatives(rows: part.rows, d: d, tangents: tangents, exact: divergence == .exact,
                               input: part.input.readOnly, output: part.output.readOnly,
                               dz: dy + part.start * d,
                               dl: layout.logDensity.map { dy + $0.lowerBound + part.start },
                               dK: layout.kineticEnergy.map { dy + $0.lowerBound + part.start },
                               dJ: layout.jacobianFrobenius.map { dy + $0.lowerBound + part.start })
    }

    private func backward(_ part: Chunk<Scalar>, a: StateVector, yBar: MutableStateVector) {
        // Bytes, not elements: this generic context would zero element by element through witnesses.
        part.thetaBar.zeroBytes(count: parameterCount)
        guard part.rows > 0 else { return }
        let d = dataDimension
        CNFKernels.cotangents(rows: part.rows, d: d, tangents: tangents, exact: divergence == .exact,
                              input: part.input.readOnly, output: part.output.readOnly, outputBar: part.outputBar,
                              az: a + part.start * d,
                              al: layout.logDensity.map { a + $0.lowerBound + part.start },
                              aK: layout.kineticEnergy.map { a + $0.lowerBound + part.start },
                              aJ: layout.jacobianFrobenius.map { a + $0.lowerBound + part.start })
        network.backward(outputBar: part.outputBar.readOnly, inputBar: part.inputBar, thetaBar: part.thetaBar,
                         workspace: part.workspace)
        CNFKernels.convert(part.inputBar.readOnly, to: yBar + part.start * d, count: part.rows * d)
    }
}

/// One chunk's rows and buffers (network scalars), allocated once (one zero-filled
/// `AlignedBuffer` cut into the five regions below).
final class Chunk<S: BLASScalar> {
    let start: Int
    let rows: Int
    let workspace: DualWorkspace<S>
    /// (1 + k)·rows × d: [z; ε] or [z; e₁; …; e_d].
    let input: MutableBufferView<S>
    /// (1 + k)·rows × d: [f; u₁; …].
    let output: MutableBufferView<S>
    /// (1 + k)·rows × d: [f̄; ū₁; …].
    let outputBar: MutableBufferView<S>
    /// rows × d.
    let inputBar: MutableBufferView<S>
    /// parameterCount: this chunk's θ̄.
    let thetaBar: MutableBufferView<S>
    private let storage: AlignedBuffer<S>

    init<N: DualNetwork>(network: N, start: Int, rows: Int, tangents k: Int) where N.Scalar == S {
        self.start = start
        self.rows = rows
        let stacked = (1 + k) * rows * network.dimension
        workspace = network.makeWorkspace(maxRows: rows, tangents: k)
        storage = AlignedBuffer(regionSizes: [stacked, stacked, stacked, rows * network.dimension,
                                              network.parameterCount])
        input = storage.regions[0]
        output = storage.regions[1]
        outputBar = storage.regions[2]
        inputBar = storage.regions[3]
        thetaBar = storage.regions[4]
    }
}
