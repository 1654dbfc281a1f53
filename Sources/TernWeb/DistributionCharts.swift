import Foundation

/// Two distributions of one feature drawn over each other, for drift: the reference window's and the current
/// window's, as shares (so windows of different sizes compare), in the two first series colours.
public enum DistributionCharts {
    /// Numeric values: shared bins (about `binCount`, nice widths, over both windows' values), one pair of bars
    /// per bin, each bar the share of its window's values in the bin.
    public static func overlaidHistogram(
        reference: [Double], current: [Double], binCount: Int = 16, width: Int = SVGChart.panelWidth, height: Int = 150, label: String
    ) -> String {
        let bins = SVGChart.histogramBins(values: reference + current, binCount: binCount)
        guard !bins.isEmpty, !reference.isEmpty || !current.isEmpty else {
            return SVGChart.noData(kind: "distribution", width: Double(width), height: Double(height), label: label)
        }
        func shares(_ values: [Double]) -> [Double] {
            var counts = [Int](repeating: 0, count: bins.count)
            for value in values where value.isFinite {
                let index = bins.lastIndex { value >= $0.lower } ?? 0
                counts[index] += 1
            }
            let total = Double(max(1, values.count))
            return counts.map { Double($0) / total }
        }
        let labels = bins.map { ValueFormat.number.format($0.lower) + "–" + ValueFormat.number.format($0.upper) }
        return pairs(labels: labels, reference: shares(reference), current: shares(current), width: width, height: height, label: label)
    }

    /// Categories: the `limit` most frequent over both windows (the rest summed as "(other)"), one pair of bars
    /// per category.
    public static func overlaidCategories(
        reference: [String], current: [String], limit: Int = 10, width: Int = SVGChart.panelWidth, height: Int = 150, label: String
    ) -> String {
        guard !reference.isEmpty || !current.isEmpty else {
            return SVGChart.noData(kind: "distribution", width: Double(width), height: Double(height), label: label)
        }
        var frequency: [String: Int] = [:]
        for value in reference + current { frequency[value, default: 0] += 1 }
        let ranked = frequency.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        var kept = Array(ranked.prefix(limit))
        if ranked.count > limit { kept.append("(other)") }
        func shares(_ values: [String]) -> [Double] {
            var counts: [String: Int] = [:]
            let known = Set(kept)
            for value in values { counts[known.contains(value) ? value : "(other)", default: 0] += 1 }
            let total = Double(max(1, values.count))
            return kept.map { Double(counts[$0] ?? 0) / total }
        }
        return pairs(labels: kept, reference: shares(reference), current: shares(current), width: width, height: height, label: label)
    }

    /// Grouped vertical bars: per label a reference bar (series 0) and a current bar (series 1), y in shares.
    static func pairs(labels: [String], reference: [Double], current: [Double], width: Int, height: Int, label: String) -> String {
        let W = Double(max(160, min(width, 4000))), H = Double(max(100, min(height, 2000)))
        let left = 34.0, right = 4.0, top = 18.0, bottom = 22.0
        let plotW = W - left - right, plotH = H - top - bottom
        let maxShare = max(0.01, (reference + current).max() ?? 0)
        let groupW = plotW / Double(max(1, labels.count))
        let barW = max(1, groupW * 0.38)
        func y(_ share: Double) -> Double { top + plotH - plotH * share / maxShare }
        let c = SVGChart.c
        let percent = ValueFormat.percent
        var svg = SVGChart.open(kind: "distribution", width: W, height: H, aria: "\(label). Reference and current shares over \(labels.count) bins")
        // Legend, then the axis with the top share.
        svg += "<g class=\"legend\"><g class=\"series-0\"><rect x=\"\(c(left))\" y=\"2\" width=\"10\" height=\"10\" fill=\"currentColor\"/></g>"
        svg += "<text x=\"\(c(left + 14))\" y=\"11\">reference</text>"
        svg += "<g class=\"series-1\"><rect x=\"\(c(left + 84))\" y=\"2\" width=\"10\" height=\"10\" fill=\"currentColor\"/></g>"
        svg += "<text x=\"\(c(left + 98))\" y=\"11\">current</text></g>"
        svg +=
            "<g class=\"axis\"><line x1=\"\(c(left))\" y1=\"\(c(top + plotH))\" x2=\"\(c(W - right))\" y2=\"\(c(top + plotH))\" stroke=\"currentColor\" stroke-opacity=\"0.3\"/>"
        svg += "<text x=\"\(c(left - 4))\" y=\"\(c(top + 4))\" text-anchor=\"end\">\(SVGChart.esc(percent.format(maxShare)))</text>"
        svg += "<text x=\"\(c(left - 4))\" y=\"\(c(top + plotH))\" text-anchor=\"end\">0</text></g>"
        for (index, name) in labels.enumerated() {
            let x = left + Double(index) * groupW + groupW * 0.1
            let title = "\(name): reference \(percent.precise(reference[index])), current \(percent.precise(current[index]))"
            svg += "<g class=\"bin\"><title>\(SVGChart.esc(title))</title>"
            svg +=
                "<g class=\"series-0\"><rect class=\"bar\" x=\"\(c(x))\" y=\"\(c(y(reference[index])))\" width=\"\(c(barW))\" height=\"\(c(top + plotH - y(reference[index])))\" fill=\"currentColor\"/></g>"
            svg +=
                "<g class=\"series-1\"><rect class=\"bar\" x=\"\(c(x + barW))\" y=\"\(c(y(current[index])))\" width=\"\(c(barW))\" height=\"\(c(top + plotH - y(current[index])))\" fill=\"currentColor\"/></g>"
            if labels.count <= 12 || index % max(1, labels.count / 6) == 0 {
                svg +=
                    "<text class=\"label\" x=\"\(c(x + barW))\" y=\"\(c(H - 6))\" text-anchor=\"middle\">\(SVGChart.esc(SVGChart.truncate(name, maxWidth: max(24, groupW * 1.6))))</text>"
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }
}
