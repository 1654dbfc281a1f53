import Foundation
import TernCore
@testable import TernLocal
import Testing

@Suite("safetensors reader")
struct SafeTensorsTests {
    /// Writes a safetensors file: the header JSON (padded with spaces to 8 bytes, as the writers do) and the data.
    static func write(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])], to url: URL, headerPadding: Bool = true) throws {
        var entries: [String] = []
        var data: [UInt8] = []
        for tensor in tensors {
            entries.append(
                "\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":\(tensor.shape),\"data_offsets\":[\(data.count),\(data.count + tensor.bytes.count)]}"
            )
            data += tensor.bytes
        }
        var header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}").utf8)
        while headerPadding, header.count % 8 != 0 { header.append(0x20) }
        var file = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init)
        file += header + data
        try Data(file).write(to: url)
    }

    static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes(Array.init) }

    @Test("F16, BF16 and F32 tensors read back as Float, including subnormals and infinities")
    func floatTypes() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("small.safetensors")
        // binary16: 1.0, -2.0, 0.5, 65504 (max), 2^-24 (smallest subnormal), -0.0, +inf, 0.333251953125
        let half: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x3555]
        let expected: [Float] = [1, -2, 0.5, 65504, 5.9604645e-8, -0, .infinity, 0.333251953125]
        let single: [Float] = [1.5, -3.25, 1e-12, 42]
        let bfloat: [UInt16] = [0x3F80, 0xC040]  // 1.0, -3.0
        // An odd-sized first tensor puts the F32 data at an unaligned offset.
        try Self.write(
            [
                ("odd", "U8", [3], [1, 2, 3]), ("half", "F16", [2, 4], Self.bytes(half)),
                ("single", "F32", [4], Self.bytes(single)), ("brain", "BF16", [2], Self.bytes(bfloat)),
            ], to: url, headerPadding: false)
        let file = try SafeTensors(path: url.path)
        #expect(file.metadata["format"] == "pt")
        #expect(file.tensors["half"]?.dtype == .f16)
        #expect(file.tensors["half"]?.shape == [2, 4])
        let halfValues = try file.floats("half", shape: [2, 4])
        #expect(halfValues == expected)
        #expect(halfValues[5].sign == .minus)
        #expect(try file.floats("single") == single)
        #expect(try file.floats("brain") == [1, -3])
        var row = [Float](repeating: 0, count: 4)
        row.withUnsafeMutableBufferPointer { file.row(file.tensors["half"]!, 1, into: $0.baseAddress!) }
        #expect(row == Array(expected[4...]))
        #expect(throws: TernError.self) { try file.floats("half", shape: [4, 2]) }
        #expect(throws: TernError.self) { try file.floats("odd") }
        #expect(throws: TernError.self) { try file.floats("absent") }
    }

    @Test("every binary16 value widens exactly")
    func halfConversionExhaustive() {
        for bits in UInt16.min...UInt16.max {
            let ours = Float(halfBits: bits)
            #if arch(x86_64) || arch(arm64)
                let reference = Float(Float16(bitPattern: bits))
                if reference.isNaN { #expect(ours.isNaN) } else { #expect(ours.bitPattern == reference.bitPattern, "bits \(bits)") }
            #endif
        }
    }

    @Test("a malformed file is rejected with a TernError, not a crash")
    func malformed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.safetensors")
        try Self.write([("t", "F32", [4], [0, 0, 0, 0])], to: url)  // 4 bytes for 4 floats
        #expect(throws: TernError.self) { try SafeTensors(path: url.path) }
        try Data([255, 0, 0, 0, 0, 0, 0, 0, 123]).write(to: url)
        #expect(throws: TernError.self) { try SafeTensors(path: url.path) }
        #expect(throws: TernError.self) { try SafeTensors(path: directory.appendingPathComponent("missing").path) }
    }
}
