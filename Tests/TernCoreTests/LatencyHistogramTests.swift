import Foundation
import TernCore
import Testing

@Suite("Latency histogram")
struct LatencyHistogramTests {
    @Test("round bins: 1-2-5 edges, every count in the bin holding its value, gaps filled with zeros")
    func roundBins() {
        var histogram = LatencyHistogram()
        let latencies: [Double] = [1.1, 1.9, 3, 4.8, 7, 12, 12, 30, 180, 950, 1_400]
        for ms in latencies { histogram.add(ms: ms) }
        let bins = histogram.roundBins
        #expect(bins.map(\.lowerMs) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000])
        #expect(bins.map(\.upperMs) == [2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000])
        #expect(bins.map(\.count) == [2, 2, 1, 2, 1, 0, 1, 0, 1, 1])
        #expect(bins.reduce(0) { $0 + $1.count } == latencies.count)
        // Every value lands in a bin whose edges hold it, within the stored resolution (an eighth of a doubling).
        for ms in latencies {
            var one = LatencyHistogram()
            one.add(ms: ms)
            let bin = one.roundBins[0]
            #expect(bin.lowerMs / 1.045 <= ms && ms <= bin.upperMs * 1.045, "\(ms) in \(bin)")
        }
        #expect(LatencyHistogram().roundBins.isEmpty)
    }
}
