import CNFCore

/// The architecture of an `ODENet`: d → hidden… → d, an activation after every layer but the
/// last. Defaults are FFJORD's toy network (`train_toy.py`: dims 64-64-64, concatsquash, tanh).
public struct ODENetConfiguration: Codable, Equatable, Sendable {
    public var dimension: Int
    public var hiddenWidths: [Int]
    public var activation: Activation
    public var layerType: LayerType

    public init(dimension: Int, hiddenWidths: [Int] = [64, 64, 64],
                activation: Activation = .tanh, layerType: LayerType = .concatSquash) {
        self.dimension = dimension
        self.hiddenWidths = hiddenWidths
        self.activation = activation
        self.layerType = layerType
    }
}

/// The dynamics network f(z, t; θ) of a CNF, as a `DualNetwork`.
///
/// All parameters live in one flat contiguous buffer (layer after layer, each in `DualLayer`'s
/// layout), so optimizers and checkpoints see one vector, and gradients use the same layout.
/// The buffer is the network's own allocation rather than an array, so the hot path reads θ
/// with no copy-on-write or exclusivity checks; `parameters` copies it in and out, and
/// `withParameters` gives it in place (e.g. to `Adam.step`).
public final class ODENet<Scalar: BLASScalar>: DualNetwork {
    /// Shape of one layer for the internal initializer (tests build single layers with it).
    struct LayerSpec {
        var outputWidth: Int
        var type: LayerType
        var activation: Activation?
    }

    /// nil for networks built from explicit layer specs.
    public let configuration: ODENetConfiguration?
    public let inputWidth: Int
    public let outputWidth: Int
    public let parameterCount: Int
    let layers: [DualLayer]
    let maxWidth: Int
    /// θ, in `storage` (the network's own allocation).
    private let theta: MutableBufferView<Scalar>
    private let storage: AlignedBuffer<Scalar>
    /// Each layer's Wᵀ for the Float kernels, repacked whenever θ changes (below).
    private let packed: PackedWeights<Scalar>

    /// d; for a network built with different input and output widths, the input width.
    public var dimension: Int { inputWidth }

    /// A network with the given parameters (`parameterCount(for:)` values, layout of
    /// `parameterTensors`).
    public convenience init(configuration: ODENetConfiguration, parameters: [Scalar]) {
        precondition(configuration.dimension > 0 && configuration.hiddenWidths.allSatisfy { $0 > 0 },
                     "network widths must be positive, got d=\(configuration.dimension), hidden \(configuration.hiddenWidths)")
        self.init(configuration: configuration, inputWidth: configuration.dimension,
                  specs: ODENet.specs(for: configuration), parameters: parameters)
    }

    /// A network initialized as PyTorch initializes `nn.Linear` (see `DualLayer.initialize`),
    /// layer by layer from `generator`. Float and Double networks built from the same seed
    /// hold the same values (drawn in Double, then rounded).
    public convenience init(configuration: ODENetConfiguration, generator: inout Xoshiro256) {
        let theta = ODENet<Double>.initialParameters(configuration: configuration, generator: &generator)
        self.init(configuration: configuration, parameters: theta.map { Scalar($0) })
    }

    init(configuration: ODENetConfiguration?, inputWidth: Int, specs: [LayerSpec], parameters: [Scalar]) {
        precondition(!specs.isEmpty, "a network needs at least one layer")
        var layers: [DualLayer] = []
        var width = inputWidth, offset = 0
        for spec in specs {
            let layer = DualLayer(type: spec.type, inputWidth: width, outputWidth: spec.outputWidth,
                                  activation: spec.activation, offset: offset)
            layers.append(layer)
            offset += layer.parameterCount
            width = spec.outputWidth
        }
        precondition(parameters.count == offset,
                     "network needs \(offset) parameters, got \(parameters.count)")
        self.configuration = configuration
        self.inputWidth = inputWidth
        self.outputWidth = width
        self.layers = layers
        self.parameterCount = offset
        self.maxWidth = ([inputWidth] + specs.map(\.outputWidth)).max()!
        storage = AlignedBuffer(count: offset)
        theta = storage.view
        packed = PackedWeights(layers: layers)
        theta.update(from: parameters)
        packed.update(theta: theta.readOnly, layers: layers)
    }

    static func specs(for c: ODENetConfiguration) -> [LayerSpec] {
        c.hiddenWidths.map { LayerSpec(outputWidth: $0, type: c.layerType, activation: c.activation) }
            + [LayerSpec(outputWidth: c.dimension, type: c.layerType, activation: nil)]
    }

    /// The number of parameters of a network with this configuration.
    public static func parameterCount(for configuration: ODENetConfiguration) -> Int {
        var width = configuration.dimension, count = 0
        for spec in specs(for: configuration) {
            count += DualLayer(type: spec.type, inputWidth: width, outputWidth: spec.outputWidth,
                               activation: spec.activation, offset: 0).parameterCount
            width = spec.outputWidth
        }
        return count
    }

    /// PyTorch-default initial parameters (see `init(configuration:generator:)`).
    public static func initialParameters(configuration: ODENetConfiguration,
                                         generator: inout Xoshiro256) -> [Double] {
        let shape = ODENet<Double>(configuration: configuration,
                                   parameters: Array(repeating: 0, count: parameterCount(for: configuration)))
        var theta = Array(repeating: 0.0, count: shape.parameterCount)
        for layer in shape.layers { layer.initialize(&theta, generator: &generator) }
        return theta
    }

    public var parameters: [Scalar] {
        get { Array(theta) }
        set {
            precondition(newValue.count == parameterCount,
                         "network has \(parameterCount) parameters, got \(newValue.count)")
            theta.update(from: newValue)
            packed.update(theta: theta.readOnly, layers: layers)
        }
    }

    /// θ in place. The view is valid only inside `body`: the packed weights the Float kernels
    /// read are refreshed when it returns (or throws), so a change made through a view kept
    /// beyond `body` would not reach them.
    public func withParameters<R>(_ body: (MutableBufferView<Scalar>) throws -> R) rethrows -> R {
        defer { packed.update(theta: theta.readOnly, layers: layers) }
        return try body(theta)
    }

    /// "layers.<i>.weight" [out, in], "layers.<i>.bias" [out], and for concatsquash layers
    /// "layers.<i>.gate.weight" [out, 1], "layers.<i>.gate.bias" [out],
    /// "layers.<i>.hyper_bias.weight" [out, 1].
    public var parameterTensors: [ParameterTensor] {
        layers.enumerated().flatMap { $1.tensors(prefix: "layers.\($0).") }
    }

    // MARK: Workspace layout
    //
    // region 0: a copy of the stacked input; per layer l, regions 1 + 5l …: affine, gate,
    // slope, curvature, output (the last layer writes to the caller's output instead);
    // then two (1 + k)·maxRows × maxWidth scratch buffers and 4·maxWidth column sums.

    public func makeWorkspace(maxRows: Int, tangents k: Int) -> DualWorkspace<Scalar> {
        let stacked = (1 + k) * maxRows
        var sizes = [stacked * inputWidth]
        for (l, layer) in layers.enumerated() {
            let out = layer.outputWidth
            let hasActivation = layer.activation != nil
            sizes += [stacked * out, 2 * out,
                      hasActivation ? maxRows * out : 0, hasActivation ? maxRows * out : 0,
                      l == layers.count - 1 ? 0 : stacked * out]
        }
        sizes += [stacked * maxWidth, stacked * maxWidth, 4 * maxWidth]
        return DualWorkspace(maxRows: maxRows, tangents: k, regionSizes: sizes, owner: self)
    }

    @inline(__always)
    func buffers(_ l: Int, _ ws: DualWorkspace<Scalar>, output: MutableBufferView<Scalar>) -> LayerBuffers<Scalar> {
        let r = 1 + 5 * l
        return LayerBuffers(affine: ws.regions[r], gate: ws.regions[r + 1], slope: ws.regions[r + 2],
                            curvature: ws.regions[r + 3], output: output, packedWeights: packed.regions[l].readOnly)
    }

    @inline(__always)
    func layerOutput(_ l: Int, _ ws: DualWorkspace<Scalar>) -> MutableBufferView<Scalar> {
        ws.regions[1 + 5 * l + 4]
    }

    // MARK: Forward and backward

    @specialized(where Scalar == Float)
    @specialized(where Scalar == Double)
    public func forward(t: Scalar, input: BufferView<Scalar>, rows: Int, tangents k: Int,
                        output: MutableBufferView<Scalar>, workspace ws: DualWorkspace<Scalar>) {
        precondition(ws.owner == ObjectIdentifier(self), "workspace was made by another network")
        ws.begin(rows: rows, tangents: k, time: t)
        let inputCopy = ws.regions[0]
        inputCopy.update(from: input, count: (1 + k) * rows * inputWidth)
        var x = inputCopy.readOnly
        for (l, layer) in layers.enumerated() {
            let y = l == layers.count - 1 ? output : layerOutput(l, ws)
            layer.forward(theta: theta.readOnly, t: t, input: x, rows: rows, tangents: k,
                          buffers: buffers(l, ws, output: y))
            x = y.readOnly
        }
    }

    /// `forward` when no `backward` follows: the same output bits, without the input copy and
    /// (Float kernels) without storing what only `backward` reads; the workspace is then not
    /// ready for `backward`.
    @specialized(where Scalar == Float)
    @specialized(where Scalar == Double)
    public func evaluate(t: Scalar, input: BufferView<Scalar>, rows: Int, tangents k: Int,
                         output: MutableBufferView<Scalar>, workspace ws: DualWorkspace<Scalar>) {
        precondition(ws.owner == ObjectIdentifier(self), "workspace was made by another network")
        ws.begin(rows: rows, tangents: k, time: t, keep: false)
        var x = input
        for (l, layer) in layers.enumerated() {
            let y = l == layers.count - 1 ? output : layerOutput(l, ws)
            var b = buffers(l, ws, output: y)
            b.keep = false
            layer.forward(theta: theta.readOnly, t: t, input: x, rows: rows, tangents: k, buffers: b)
            x = y.readOnly
        }
    }

    @specialized(where Scalar == Float)
    @specialized(where Scalar == Double)
    public func backward(outputBar: BufferView<Scalar>, inputBar: MutableBufferView<Scalar>,
                         thetaBar: MutableBufferView<Scalar>, workspace ws: DualWorkspace<Scalar>) {
        precondition(ws.owner == ObjectIdentifier(self), "workspace was made by another network")
        precondition(ws.ready, "backward before forward on this workspace")
        let n = ws.rows, k = ws.tangents, t = ws.time
        let base = 1 + 5 * layers.count
        let scratch = ws.regions[base], carried = ws.regions[base + 1], columns = ws.regions[base + 2]
        var ybar = outputBar
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let x = l == 0 ? ws.regions[0].readOnly : layerOutput(l - 1, ws).readOnly
            layers[l].backward(theta: theta.readOnly, t: t, input: x, rows: n, tangents: k,
                               buffers: buffers(l, ws, output: layerOutput(l, ws)),
                               outputBar: ybar, scratch: scratch, columns: columns,
                               inputBar: l == 0 ? inputBar : carried,
                               inputBarRows: l == 0 ? n : (1 + k) * n, thetaBar: thetaBar)
            ybar = carried.readOnly
        }
    }
}
