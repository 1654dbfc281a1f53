public import Foundation
public import TernCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only memory mapping of a whole file, unmapped when the last reference goes.
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw LocalModelError.unreadable(path, "cannot open (errno \(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LocalModelError.unreadable(path, "cannot stat (errno \(errno))") }
        let size = Int(info.st_size)
        guard size > 0 else { throw LocalModelError.unreadable(path, "empty file") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw LocalModelError.unreadable(path, "cannot map (errno \(errno))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}

/// A `.safetensors` file (the Hugging Face format: an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the raw little-endian data),
/// memory-mapped: nothing is read until a tensor is asked for, and `row(_:_:into:)` reads one row of a
/// large table (the word embeddings) without touching the rest.
public struct SafeTensors: Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32", i8 = "I8", u8 = "U8", bool = "BOOL"

        public var byteSize: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16: 2
            case .i8, .u8, .bool: 1
            }
        }

        var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }
    }

    public struct Tensor: Sendable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range in the file.
        let range: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: Tensor]
    public let metadata: [String: String]
    private let file: MappedFile

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        let bytes = file.bytes
        guard bytes.count >= 8 else { throw LocalModelError.invalid(path, "shorter than its header") }
        let headerLength = Int(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= bytes.count - 8 else {
            throw LocalModelError.invalid(path, "header length \(headerLength) exceeds the file")
        }
        let headerData = Data(bytes[8..<(8 + headerLength)])
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw LocalModelError.invalid(path, "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (key, text) in value as? [String: Any] ?? [:] { metadata[key] = text as? String }
                continue
            }
            guard let entry = value as? [String: Any],
                let dtypeName = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                offsets.count == 2
            else { throw LocalModelError.invalid(path, "tensor \(name): malformed entry") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw LocalModelError.invalid(path, "tensor \(name): unsupported dtype \(dtypeName)")
            }
            let range = (dataStart + offsets[0])..<(dataStart + offsets[1])
            guard offsets[0] >= 0, offsets[0] <= offsets[1], range.upperBound <= bytes.count,
                shape.allSatisfy({ $0 >= 0 }), range.count == shape.reduce(1, *) * dtype.byteSize
            else { throw LocalModelError.invalid(path, "tensor \(name): data offsets do not match its shape") }
            tensors[name] = Tensor(dtype: dtype, shape: shape, range: range)
        }
        self.path = path
        self.tensors = tensors
        self.metadata = metadata
        self.file = file
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let tensor = tensors[name] else { throw LocalModelError.invalid(path, "tensor \(name) is missing") }
        return tensor
    }

    /// A floating-point tensor as `Float`s (F16 and BF16 widened), checked against `shape` when given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        let tensor = try tensor(name)
        if let expected, expected != tensor.shape {
            throw LocalModelError.invalid(path, "tensor \(name): shape \(tensor.shape), expected \(expected)")
        }
        guard tensor.dtype.isFloat else { throw LocalModelError.invalid(path, "tensor \(name): dtype \(tensor.dtype.rawValue) is not floating point") }
        return [Float](unsafeUninitializedCapacity: tensor.count) { buffer, initialized in
            convert(tensor, elements: 0..<tensor.count, into: buffer.baseAddress!)
            initialized = tensor.count
        }
    }

    /// Row `index` of a 2-D floating-point tensor, written to `destination` (which holds `shape[1]` floats).
    func row(_ tensor: Tensor, _ index: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(tensor.shape.count == 2 && index >= 0 && index < tensor.shape[0], "row out of range")
        let width = tensor.shape[1]
        convert(tensor, elements: (index * width)..<((index + 1) * width), into: destination)
    }

    private func convert(_ tensor: Tensor, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let source = UnsafeRawBufferPointer(rebasing: file.bytes[tensor.range])
        switch tensor.dtype {
        case .f32:
            // The data need not be 4-byte aligned: copy bytes.
            UnsafeMutableRawPointer(destination).copyMemory(
                from: source.baseAddress! + elements.lowerBound * 4, byteCount: elements.count * 4)
        case .f16:
            for (offset, element) in elements.enumerated() {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: element * 2, as: UInt16.self))
                destination[offset] = Float(halfBits: bits)
            }
        case .bf16:
            for (offset, element) in elements.enumerated() {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: element * 2, as: UInt16.self))
                destination[offset] = Float(bitPattern: UInt32(bits) << 16)
            }
        default:
            preconditionFailure("not a floating-point tensor")
        }
    }
}

extension Float {
    /// IEEE 754 binary16 to binary32 (exact; subnormals, infinities and NaN included), without relying on
    /// `Float16`, which some platforms lack.
    init(halfBits bits: UInt16) {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            self = sign == 0 ? magnitude : -magnitude
        case 0x1F:
            self = Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            self = Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
        }
    }
}

/// Errors of local models. Every one is a `TernError`, so the server and the CLI report them like any
/// other; the codes are stable.
public enum LocalModelError {
    /// The model is not in the models directory; the message names the command that installs it.
    public static func notInstalled(_ name: String, directory: URL, isDefaultDirectory: Bool) -> TernError {
        let command = "tern models pull \(name)" + (isDefaultDirectory ? "" : " --models-dir \(directory.deletingLastPathComponent().path)")
        return TernError(
            .unavailable, code: "model_not_installed",
            message: "local model \(name) is not installed in \(directory.path); run: \(command)")
    }

    public static func unknownModel(_ name: String) -> TernError {
        TernError(
            .notFound, code: "unknown_local_model",
            message: "unknown local model \(name); known: \(LocalModels.catalog.map(\.name).joined(separator: ", "))")
    }

    public static func digestMismatch(_ file: String, expected: String, actual: String) -> TernError {
        TernError(
            .invalidInput, code: "model_digest_mismatch",
            message: "\(file): SHA-256 \(actual) does not match the pinned \(expected); the download is corrupt or not the pinned version")
    }

    public static func pullFailed(_ message: String) -> TernError {
        TernError(.unavailable, code: "model_pull_failed", message: message)
    }

    static func unreadable(_ path: String, _ reason: String) -> TernError {
        TernError(.unavailable, code: "model_file_unreadable", message: "\(path): \(reason)")
    }

    static func invalid(_ path: String, _ reason: String) -> TernError {
        TernError(.invalidInput, code: "model_file_invalid", message: "\(path): \(reason)")
    }
}
