import CNFCore
import Networks
import Flow
import Training
import Foundation

/// Model and training-state files (safetensors, so PyTorch/numpy users can read the weights).
///
/// - `model.safetensors`: the parameters under PyTorch-style names ("block0.layers.0.weight"),
///   in the run's precision, with the full run configuration as JSON in the metadata
///   ("cnf.config") — the file alone is enough to rebuild the model.
/// - `checkpoint.safetensors`: the same plus Adam's moments and step, the generators' states
///   and the iteration: what a resumed fit needs to continue bit for bit.
public enum Checkpoint {
    public static let formatKey = "cnf.format"
    public static let configKey = "cnf.config"
    public static let dimensionKey = "cnf.dimension"
    public static let scheduleKey = "cnf.schedule"
    /// The affine map from the data's units to the flow's (JSON of ToyData's `Standardizer`),
    /// written by the command line for file runs; absent = the identity.
    public static let standardizerKey = "cnf.standardizer"
    /// Which columns are dequantized (JSON of ToyData's `Dequantizer`); absent = none.
    public static let dequantizerKey = "cnf.dequantizer"

    /// The model's weights as a safetensors file.
    public static func modelFile<S: BLASScalar>(_ model: CNF<S>, config: FitConfig, extra: [String: String] = [:]) throws -> SafeTensorsFile {
        let p = model.parameterVector
        var tensors: [String: SafeTensor] = [:]
        for t in model.parameterTensors {
            let slice = Array(p[t.offset..<(t.offset + t.count)])
            tensors[t.name] = S.self == Float.self
                ? SafeTensor(shape: t.shape, values: slice.map { Float($0) })
                : SafeTensor(shape: t.shape, values: slice)
        }
        var metadata = extra
        metadata[formatKey] = "cnf-model-1"
        metadata[configKey] = String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self)
        metadata[dimensionKey] = "\(model.dimension)"
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// The whole training state.
    public static func trainingFile<S: BLASScalar>(_ trainer: Trainer<S>, extra: [String: String] = [:]) throws -> SafeTensorsFile {
        var file = try modelFile(trainer.model, config: trainer.config, extra: extra)
        let s = trainer.state
        file.metadata[formatKey] = "cnf-checkpoint-1"
        file.tensors["train.parameters"] = SafeTensor(shape: [s.parameters.count], values: s.parameters)
        file.tensors["train.adam.m"] = SafeTensor(shape: [s.adam.m.count], values: s.adam.m)
        file.tensors["train.adam.v"] = SafeTensor(shape: [s.adam.v.count], values: s.adam.v)
        file.tensors["train.adam.step"] = SafeTensor(shape: [1], values: [Int64(s.adam.step)])
        file.tensors["train.iteration"] = SafeTensor(shape: [1], values: [Int64(s.iteration)])
        file.tensors["train.rng.data"] = SafeTensor(shape: [4], values: s.dataGenerator.stateWords)
        file.tensors["train.rng.noise"] = SafeTensor(shape: [4], values: s.noiseGenerator.stateWords)
        if let a = s.average { file.tensors["train.ema"] = SafeTensor(shape: [a.count], values: a) }
        if let sc = s.schedule {
            file.metadata[scheduleKey] = String(decoding: try JSONEncoder.sorted.encode(sc), as: UTF8.self)
        }
        return file
    }

    /// Reads a file and checks it is a cnf file; errors name the path.
    public static func read(_ path: String) throws -> SafeTensorsFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SafeTensorsError(file: path, reason: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError(file: path, reason: "cannot read the file")
        }
        let file = try SafeTensorsFile(decoding: [UInt8](data), file: path)
        guard file.metadata[formatKey]?.hasPrefix("cnf-") == true, file.metadata[configKey] != nil else {
            throw SafeTensorsError(file: path, reason: "not a cnf model (no \(configKey) in the metadata)")
        }
        return file
    }

    public static func config(of file: SafeTensorsFile, path: String) throws -> FitConfig {
        do {
            return try JSONDecoder().decode(FitConfig.self, from: Data(file.metadata[configKey]!.utf8))
        } catch {
            throw SafeTensorsError(file: path, reason: "its configuration does not decode: \(error)")
        }
    }

    /// Rebuilds the model stored in `file`.
    public static func model<S: BLASScalar>(_: S.Type, from file: SafeTensorsFile, path: String) throws -> CNF<S> {
        let config = try config(of: file, path: path)
        guard let d = Int(file.metadata[dimensionKey] ?? "") else {
            throw SafeTensorsError(file: path, reason: "missing \(dimensionKey)")
        }
        let mc = config.model.modelConfig(dimension: d)
        let shell = CNF<S>(config: mc, parameters: [Double](repeating: 0, count: CNF<S>.parameterCount(mc)))
        var p = [Double](repeating: 0, count: shell.parameterCount)
        if let flat = file.tensors["train.parameters"]?.values {
            guard flat.count == p.count else {
                throw SafeTensorsError(file: path, reason: "train.parameters has \(flat.count) values, the model needs \(p.count)")
            }
            p = flat
        } else {
            for t in shell.parameterTensors {
                guard let tensor = file.tensors[t.name], let v = tensor.values else {
                    throw SafeTensorsError(file: path, reason: "missing tensor \(t.name)")
                }
                guard tensor.shape == t.shape else {
                    throw SafeTensorsError(file: path, reason: "tensor \(t.name) has shape \(tensor.shape), expected \(t.shape)")
                }
                for i in 0..<t.count { p[t.offset + i] = v[i] }
            }
        }
        guard p.allSatisfy({ $0.isFinite }) else {
            throw SafeTensorsError(file: path, reason: "the weights contain NaN or infinity")
        }
        shell.parameterVector = p
        return shell
    }

    /// The training state stored in a checkpoint file.
    public static func trainingState(from file: SafeTensorsFile, path: String) throws -> TrainingState {
        func need(_ name: String) throws -> SafeTensor {
            guard let t = file.tensors[name] else {
                throw SafeTensorsError(file: path, reason: "not a training checkpoint: missing \(name)")
            }
            return t
        }
        guard let p = try need("train.parameters").doubles, let m = try need("train.adam.m").doubles,
              let v = try need("train.adam.v").doubles, let step = try need("train.adam.step").int64s?.first,
              let it = try need("train.iteration").int64s?.first,
              let rd = try need("train.rng.data").uint64s, let rn = try need("train.rng.noise").uint64s,
              rd.count == 4, rn.count == 4 else {
            throw SafeTensorsError(file: path, reason: "training state tensors have the wrong types")
        }
        var average: [Double]? = nil
        if let t = file.tensors["train.ema"] {
            guard let a = t.doubles, a.count == p.count else {
                throw SafeTensorsError(file: path, reason: "train.ema has the wrong type or size")
            }
            average = a
        }
        var schedule: LearningRateSchedule? = nil
        if let json = file.metadata[scheduleKey] {
            do { schedule = try JSONDecoder().decode(LearningRateSchedule.self, from: Data(json.utf8)) } catch {
                throw SafeTensorsError(file: path, reason: "its schedule state does not decode: \(error)")
            }
        }
        return TrainingState(iteration: Int(it), parameters: p, adam: Adam.State(step: Int(step), m: m, v: v),
                             dataGenerator: Xoshiro256(state: rd), noiseGenerator: Xoshiro256(state: rn),
                             schedule: schedule, average: average)
    }
}

extension CNF {
    /// The parameter count a configuration makes.
    public static func parameterCount(_ config: ModelConfig) -> Int {
        config.blocks * ODENet<S>.parameterCount(for: config.network) + (config.trainTime ? config.blocks : 0)
    }
}

extension JSONEncoder {
    /// Sorted keys, fixed formatting: the same value always gives the same bytes.
    public static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
