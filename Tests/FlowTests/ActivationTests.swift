import CNFCore
import XCTest
@testable import Networks
@testable import Flow
@testable import Training
@testable import Persistence

final class ActivationTests: XCTestCase {
    /// Points away from 0 (ELU's σ'' jumps there) covering both saturated tails.
    let points: [Double] = [-6, -3.1, -1.7, -0.9, -0.31, -0.02, 0.013, 0.27, 0.8, 1.45, 2.9, 5.5]

    func testDerivativesMatchCentralDifferences() {
        let h = 1e-5
        for activation in Activation.allCases {
            for a in points {
                let (y, s, c) = activation.derivatives(at: a)
                XCTAssertEqual(y, activation.value(a))
                let fd1 = (activation.value(a + h) - activation.value(a - h)) / (2 * h)
                let fd2 = (activation.derivative(a + h) - activation.derivative(a - h)) / (2 * h)
                XCTAssertEqual(s, fd1, accuracy: 1e-8 * max(1, abs(fd1)), "\(activation) σ' at \(a)")
                XCTAssertEqual(c, fd2, accuracy: 1e-8 * max(1, abs(fd2)), "\(activation) σ'' at \(a)")
            }
        }
    }

    func testClosedForms() {
        XCTAssertEqual(Activation.tanh.value(0.5), Foundation.tanh(0.5), accuracy: 1e-15)
        XCTAssertEqual(Activation.softplus.value(0.5), Foundation.log(1 + Foundation.exp(0.5)), accuracy: 1e-15)
        XCTAssertEqual(Activation.softplus.value(800.0), 800)  // no overflow
        XCTAssertEqual(Activation.elu.value(-2.0), Foundation.exp(-2) - 1, accuracy: 1e-15)
        XCTAssertEqual(Activation.swish.value(1.5), 1.5 / (1 + Foundation.exp(-1.5)), accuracy: 1e-15)
        XCTAssertEqual(Activation.sigmoid(-800.0), 0)
        XCTAssertEqual(Activation.sigmoid(800.0), 1)
    }

    /// The eight-lane Float kernel against the Double reference, over a dense sweep and the
    /// extremes; values (relative to max(1, |y|)), slopes and curvatures (absolute) within a
    /// few Float ulp of 1.
    func testVectorizedFloatKernelMatchesReference() {
        var inputs: [Float] = stride(from: -12.0, through: 12.0, by: 0.0137).map { Float($0) }
        inputs += [0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.625, -0.625, 0.62500006, 88, -88, 200, -200, 1e30, -1e30]
        let count = inputs.count  // not a multiple of 8: exercises the padded tail
        for activation in Activation.allCases {
            var values = inputs
            var slope = [Float](repeating: 0, count: count), curvature = slope
            values.withMutableBufferView { v in
                slope.withMutableBufferView { s in
                    curvature.withMutableBufferView { c in
                        activation.apply(count: count, values: v, slope: s, curvature: c)
                    }
                }
            }
            var worst = (0.0, 0.0, 0.0)
            for i in 0..<count {
                let (y, s, c) = activation.derivatives(at: Double(inputs[i]))
                let scale = max(1, abs(y))
                worst.0 = max(worst.0, abs(Double(values[i]) - y) / scale)
                worst.1 = max(worst.1, abs(Double(slope[i]) - s))
                worst.2 = max(worst.2, abs(Double(curvature[i]) - c))
            }
            let ulp = Double(Float.ulpOfOne)
            // σ' and σ'' are formed from y (tanh: 1 − y², −2yσ'), which scales y's error by up
            // to 2 and 4; measured worst cases: tanh 2.3, 4.6, 9.1 ulp; swish 1.0, 5.3, 4.8 ulp.
            XCTAssertLessThan(worst.0, 4 * ulp, "\(activation) value")
            XCTAssertLessThan(worst.1, 8 * ulp, "\(activation) σ'")
            XCTAssertLessThan(worst.2, 16 * ulp, "\(activation) σ''")
        }
    }

    /// Relative accuracy of the tanh kernel near 0, where absolute bounds say little.
    func testFastTanhRelativeAccuracyNearZero() {
        for x in stride(from: Float(1e-6), through: 0.7, by: 0.0031) {
            let v = FastMath.tanh(FastMath.Vector(repeating: x))[0]
            let exact = Foundation.tanh(Double(x))
            XCTAssertLessThan(abs(Double(v) - exact) / exact, 4 * Double(Float.ulpOfOne), "tanh(\(x))")
        }
    }
}
