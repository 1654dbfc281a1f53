/// Server-Sent Events: an incremental parser (bytes in, events out) and an encoder.
public struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        public var name: String?
        public var data: String

        public init(name: String? = nil, data: String) {
            self.name = name
            self.data = data
        }
    }

    private var buffer: [UInt8] = []
    private var name: String?
    private var dataLines: [String] = []

    public init() {}

    /// Feeds bytes; returns the events completed by them.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var start = 0
        var index = 0
        while index < buffer.count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                let line = String(decoding: buffer[start..<index], as: UTF8.self)
                // \r\n counts as one line break.
                if byte == UInt8(ascii: "\r"), index + 1 < buffer.count, buffer[index + 1] == UInt8(ascii: "\n") {
                    index += 1
                } else if byte == UInt8(ascii: "\r"), index + 1 == buffer.count {
                    break
                }
                index += 1
                start = index
                if let event = process(line) { events.append(event) }
                continue
            }
            index += 1
        }
        buffer.removeFirst(start)
        return events
    }

    /// Flushes a final event not followed by a blank line.
    public mutating func finish() -> Event? {
        if !buffer.isEmpty {
            let line = String(decoding: buffer, as: UTF8.self)
            buffer.removeAll()
            if let event = process(line) { return event }
        }
        return process("")
    }

    private mutating func process(_ line: String) -> Event? {
        if line.isEmpty {
            defer { name = nil; dataLines = [] }
            guard !dataLines.isEmpty else { return nil }
            return Event(name: name, data: dataLines.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "data": dataLines.append(String(value))
        case "event": name = String(value)
        default: break
        }
        return nil
    }
}

public enum SSEEncoder {
    public static func encode(name: String? = nil, data: String) -> String {
        var out = ""
        if let name { out += "event: \(name)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)\n" }
        return out + "\n"
    }
}
