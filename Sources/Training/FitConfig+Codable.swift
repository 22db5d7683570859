import Networks
import Flow
import ODE

// Decoding: a missing key keeps the default declared on the property (so a partial file works),
// an unknown key is an error naming it (a misspelt option is never silently ignored).
// Encoding is synthesized from the same CodingKeys.

extension FitConfig {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case format, seed, data, model, density, solver, gradient, training, validation, provenance
    }

    public init(from decoder: Decoder) throws {
        self.init()
        if try FitConfig.isLegacy(decoder) {
            self = FitConfig(migrating: try LegacyFitConfig(from: decoder))
            return
        }
        let c = try decoder.section(CodingKeys.self, named: "the configuration")
        try c.update(&format, .format)
        guard format <= FitConfig.currentFormat else {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [CodingKeys.format],
                debugDescription: "format \(format) is newer than this cnf understands (\(FitConfig.currentFormat)): update cnf"))
        }
        if format < 3 {
            // cnf 0.2 (format 2) left nil options out of its files and had no anneal extension:
            // a missing key there means what cnf 0.2 meant by it, not today's default.
            training.ema = nil
            training.plateau.extendRate = 0
        }
        if format < 4 {
            // cnf ≤ 0.3 ended the peak by the patience rule.
            training.plateau.minGain = nil
            training.plateau.decay = nil
            training.decayTime = true
        }
        if format < 5 {
            // cnf ≤ 0.4.0 had no overfitting stop.
            training.plateau.overfitRise = nil
        }
        format = FitConfig.currentFormat
        try c.update(&seed, .seed)
        try c.overlay(&data, .data)
        try c.overlay(&model, .model)
        try c.overlay(&density, .density)
        try c.overlay(&solver, .solver)
        try c.overlay(&gradient, .gradient)
        try c.overlay(&training, .training)
        try c.overlay(&validation, .validation)
        try c.overlay(&provenance, .provenance)
    }
}

extension FitConfig.DataSection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataset, file, testFraction, validationFraction, standardize, dequantize, dropMissing
    }
    /// The keys of cnf 0.2, then the preprocessing keys only where they differ from their
    /// defaults: a toy set's config.json (and the model file's metadata) stays what it was.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(dataset, forKey: .dataset)
        try c.encodeIfPresent(file, forKey: .file)
        try c.encode(testFraction, forKey: .testFraction)
        try c.encode(validationFraction, forKey: .validationFraction)
        let d = FitConfig.DataSection()
        if standardize != d.standardize { try c.encode(standardize, forKey: .standardize) }
        if dequantize != d.dequantize { try c.encode(dequantize, forKey: .dequantize) }
        if dropMissing != d.dropMissing { try c.encode(dropMissing, forKey: .dropMissing) }
    }

    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "data")
        // A file without a data set means no data set (the default one is for toy runs).
        if c.contains(.file) && !c.contains(.dataset) { dataset = nil }
        try c.update(&dataset, .dataset)
        try c.update(&file, .file)
        try c.update(&testFraction, .testFraction)
        try c.update(&validationFraction, .validationFraction)
        try c.update(&standardize, .standardize)
        try c.update(&dequantize, .dequantize)
        try c.update(&dropMissing, .dropMissing)
    }
}

extension FitConfig.ModelSection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case dims, activation, layer, blocks, time, trainTime, precision }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "model")
        try c.update(&dims, .dims)
        try c.update(&activation, .activation)
        try c.update(&layer, .layer)
        try c.update(&blocks, .blocks)
        try c.update(&time, .time)
        try c.update(&trainTime, .trainTime)
        try c.update(&precision, .precision)
    }
}

extension FitConfig.DensitySection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case trace, noise, kinetic, jacobian }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "density")
        try c.update(&trace, .trace)
        try c.update(&noise, .noise)
        try c.update(&kinetic, .kinetic)
        try c.update(&jacobian, .jacobian)
    }
}

extension FitConfig.GradientSection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case route, adjoint }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "gradient")
        try c.update(&route, .route)
        try c.overlay(&adjoint, .adjoint)
    }
}

extension FitConfig.AdjointSection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case seminorm, atol, rtol }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "gradient.adjoint")
        try c.update(&seminorm, .seminorm)
        try c.update(&atol, .atol)
        try c.update(&rtol, .rtol)
    }
}

extension FitConfig.TrainingSection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case iters, batchSize, lr, schedule, warmup, weightDecay, decayTime, clip, ema, timeRate, flowMatching, plateau, chunks
    }
    /// Every key, nil options as null: a file means the same whatever later versions' defaults.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(iters, forKey: .iters)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(lr, forKey: .lr)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(clip, forKey: .clip)
        try c.encode(ema, forKey: .ema)
        try c.encode(timeRate, forKey: .timeRate)
        try c.encode(decayTime, forKey: .decayTime)
        try c.encode(flowMatching, forKey: .flowMatching)
        try c.encode(plateau, forKey: .plateau)
        try c.encode(chunks, forKey: .chunks)
    }

    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "training")
        try c.update(&iters, .iters)
        try c.update(&batchSize, .batchSize)
        try c.update(&lr, .lr)
        try c.update(&schedule, .schedule)
        try c.update(&warmup, .warmup)
        try c.update(&weightDecay, .weightDecay)
        try c.update(&clip, .clip)
        try c.update(&ema, .ema)
        try c.update(&timeRate, .timeRate)
        try c.update(&decayTime, .decayTime)
        try c.update(&flowMatching, .flowMatching)
        try c.overlay(&plateau, .plateau)
        try c.update(&chunks, .chunks)
    }
}

extension PlateauRule: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case patience, minDelta, minGain, trendFraction, minPeak, annealFraction, minAnneal, extendRate, window, decay, steps,
             overfitRise
    }
    /// Every key, `minGain` nil (the patience rule) as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(patience, forKey: .patience)
        try c.encode(minDelta, forKey: .minDelta)
        try c.encode(minGain, forKey: .minGain)
        try c.encode(trendFraction, forKey: .trendFraction)
        try c.encode(minPeak, forKey: .minPeak)
        try c.encode(annealFraction, forKey: .annealFraction)
        try c.encode(minAnneal, forKey: .minAnneal)
        try c.encode(extendRate, forKey: .extendRate)
        try c.encode(window, forKey: .window)
        try c.encode(decay, forKey: .decay)
        try c.encode(steps, forKey: .steps)
        try c.encode(overfitRise, forKey: .overfitRise)
    }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "training.plateau")
        try c.update(&patience, .patience)
        try c.update(&minDelta, .minDelta)
        try c.update(&minGain, .minGain)
        try c.update(&trendFraction, .trendFraction)
        try c.update(&minPeak, .minPeak)
        try c.update(&annealFraction, .annealFraction)
        try c.update(&minAnneal, .minAnneal)
        try c.update(&extendRate, .extendRate)
        try c.update(&window, .window)
        try c.update(&decay, .decay)
        try c.update(&steps, .steps)
        try c.update(&overfitRise, .overfitRise)
    }
}

extension FitConfig.ValidationSection: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case every, size }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "validation")
        try c.update(&every, .every)
        try c.update(&size, .size)
    }
}

extension FitConfig.Provenance: OverlayDecodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case cnfVersion, gitCommit }
    public mutating func overlay(from decoder: Decoder) throws {
        let c = try decoder.section(CodingKeys.self, named: "provenance")
        try c.update(&cnfVersion, .cnfVersion)
        try c.update(&gitCommit, .gitCommit)
    }
}
