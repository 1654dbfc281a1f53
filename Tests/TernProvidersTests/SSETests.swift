import TernProviders
import Testing

@Suite("Server-Sent Events")
struct SSETests {
    @Test("events split across arbitrary chunk boundaries come out whole")
    func chunking() {
        let text = "event: message_start\ndata: {\"a\":1}\n\n: comment\ndata: line one\ndata: line two\n\r\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        for size in [1, 2, 3, 7, 64] {
            var parser = SSEParser()
            var events: [SSEParser.Event] = []
            var index = 0
            while index < bytes.count {
                events += parser.feed(bytes[index..<min(index + size, bytes.count)])
                index += size
            }
            #expect(
                events == [
                    .init(name: "message_start", data: #"{"a":1}"#), .init(data: "line one\nline two"), .init(data: "[DONE]"),
                ], "chunk size \(size)")
        }
    }

    @Test("an event without a final blank line is flushed at the end; encoder round-trips")
    func finishAndEncode() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: tail".utf8)).isEmpty)
        #expect(parser.finish() == .init(data: "tail"))
        let encoded = SSEEncoder.encode(name: "x", data: "a\nb")
        #expect(encoded == "event: x\ndata: a\ndata: b\n\n")
        var again = SSEParser()
        #expect(again.feed(Array(encoded.utf8)) == [.init(name: "x", data: "a\nb")])
    }
}
