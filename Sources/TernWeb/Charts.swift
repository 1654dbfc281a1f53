// Server-rendered charts as inline SVG strings (no JavaScript). Colours come from CSS classes
// (`series-0` … `series-7`, see ChartStyles.css); every label and title goes through HTML.escape.
// Output is deterministic: no ids, no randomness, UTC time labels, locale-independent numbers.
import Foundation

public struct ChartPoint: Sendable, Hashable {
    /// Unix seconds for time axes, any number otherwise.
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

public struct ChartSeries: Sendable, Hashable {
    public var name: String
    /// Points in ascending x order; a NaN/infinite y leaves a gap in the line.
    public var points: [ChartPoint]
    public init(name: String, points: [ChartPoint]) {
        self.name = name
        self.points = points
    }
}

public enum SVGChart {
    /// Line chart for one or more time series (legend when there are ≥ 2). `bucket == nil` means a
    /// plain numeric x axis. Every point gets an invisible hover marker with a `<title>`
    /// ("gpt-4o · Nov 28 14:00 · 1,234 requests"); markers are drawn visibly when points are sparse.
    /// `height` includes the legend.
    /// The width charts in a dashboard panel are drawn at: the narrowest panel's content (a grid column
    /// is at least 420 px, less its padding), so the 11 px text is shown at 11 px or larger.
    public static let panelWidth = 380

    public static func line(
        _ series: [ChartSeries], bucket: TimeBucket?, yFormat: ValueFormat, unit: String = "",
        width: Int = SVGChart.panelWidth, height: Int = 200, label: String, partialFrom: Double? = nil
    ) -> String {
        let W = Double(clamp(width, 160, 4000)), H = Double(clamp(height, 80, 2000))
        func valid(_ p: ChartPoint) -> Bool {
            p.x.isFinite && p.y.isFinite && (bucket == nil || abs(p.x) < 1e11)
        }
        // Per series: runs of valid points (an invalid point breaks the line).
        var runs: [[[ChartPoint]]] = []
        for s in series {
            var segments: [[ChartPoint]] = [], current: [ChartPoint] = []
            for p in s.points {
                if valid(p) { current.append(p) } else if !current.isEmpty { segments.append(current); current = [] }
            }
            if !current.isEmpty { segments.append(current) }
            let flat = segments.flatMap { $0 }
            if zip(flat, flat.dropFirst()).contains(where: { $0.x > $1.x }) {
                segments = [flat.sorted { $0.x < $1.x }]
            }
            runs.append(segments)
        }
        let all = runs.flatMap { $0.flatMap { $0 } }
        guard let first = all.first else { return noData(kind: "line", width: W, height: H, label: label) }
        var xMin = first.x, xMax = first.x, yMin = first.y, yMax = first.y
        for p in all {
            xMin = min(xMin, p.x); xMax = max(xMax, p.x)
            yMin = min(yMin, p.y); yMax = max(yMax, p.y)
        }
        if xMin == xMax {
            let pad = bucket?.seconds ?? 1
            xMin -= pad; xMax += pad
        }

        // Legend (bottom, wrapping) for multi-series charts.
        struct LegendItem { var index: Int; var x: Double; var row: Int; var text: String; var full: String }
        var legend: [LegendItem] = []
        var legendRows = 0
        if series.count > 1 {
            var x = 0.0, row = 0
            for (i, s) in series.enumerated() {
                let full = s.name.isEmpty ? "Series \(i + 1)" : s.name
                let text = truncate(full, maxWidth: min(200, W - 30))
                let w = 10 + 5 + textWidth(text) + 16
                if x > 0, x + w > W { x = 0; row += 1 }
                legend.append(LegendItem(index: i, x: x, row: row, text: text, full: full))
                x += w
            }
            legendRows = row + 1
        }
        let legendRowH = 16.0
        let top = 8.0, xLabelH = 20.0, right = 10.0
        let legendH = legendRows > 0 ? Double(legendRows) * legendRowH + 4 : 0
        let plotH = max(20, H - top - xLabelH - legendH)

        // Y axis.
        let yTicks = ChartAxis.niceTicks(
            min: min(0, yMin), max: max(0, yMax), intervals: max(1, min(5, Int(plotH / 30))),
            integer: yFormat == .integer)
        let yLabels = ChartAxis.labels(for: yTicks, format: yFormat)
        let left = max(24, (yLabels.map { textWidth($0) }.max() ?? 0) + 10).rounded(.up)
        let plotW = max(20, W - left - right)
        let y0 = yTicks.first ?? 0, y1 = yTicks.last ?? 1
        func py(_ v: Double) -> Double { top + plotH * (1 - (v - y0) / (y1 - y0 == 0 ? 1 : y1 - y0)) }
        func px(_ v: Double) -> Double { left + plotW * (v - xMin) / (xMax - xMin) }

        // X axis.
        var xTicks: [(Double, String)]
        if let bucket {
            xTicks = ChartAxis.timeTicks(from: xMin, to: xMax, bucket: bucket, maxTicks: max(2, Int(plotW / 90)))
                .map { (px($0.value), $0.label) }
        } else {
            let ticks = ChartAxis.niceTicks(min: xMin, max: xMax, intervals: max(1, Int(plotW / 90)))
                .filter { $0 >= xMin - 1e-9 * abs(xMin) && $0 <= xMax + 1e-9 * abs(xMax) }
            xTicks = Array(zip(ticks.map(px), ChartAxis.labels(for: ticks, format: .number)))
        }
        xTicks = thin(xTicks)

        var svg = open(
            kind: "line", width: W, height: H,
            aria: lineSummary(
                series, runs: runs, bucket: bucket, xMin: all.map(\.x).min()!, xMax: all.map(\.x).max()!, yMax: yMax, yFormat: yFormat, unit: unit, label: label
            ))
        svg += gridAndYAxis(yTicks: yTicks, yLabels: yLabels, py: py, left: left, plotW: plotW)
        svg += xAxis(ticks: xTicks, top: top, plotH: plotH, width: W, labelY: top + plotH + 14)

        // Lines (with a light area fill when there are few series).
        let baseline = py(min(max(0, y0), y1))
        let withArea = runs.filter { !$0.isEmpty }.count == 1
        for (i, segments) in runs.enumerated() where !segments.isEmpty {
            svg += "<g class=\"series series-\(i % 8)\">"
            for seg in segments where seg.count > 1 {
                func path(_ points: ArraySlice<ChartPoint>) -> String {
                    points.enumerated().map { (k, p) in (k == 0 ? "M" : "L") + c(px(p.x)) + " " + c(py(p.y)) }.joined()
                }
                let d = path(seg[...])
                if withArea {
                    svg +=
                        "<path class=\"area\" d=\"\(d)L\(c(px(seg.last!.x))) \(c(baseline))L\(c(px(seg[0].x))) \(c(baseline))Z\" fill=\"currentColor\" fill-opacity=\"0.08\" stroke=\"none\"/>"
                }
                // Buckets still filling (from `partialFrom` on) are drawn dashed: a partial count is not a drop.
                let cut = partialFrom.flatMap { from in seg.firstIndex { $0.x >= from } } ?? seg.count
                if cut > 1 {
                    svg +=
                        "<path class=\"line\" d=\"\(path(seg[..<cut]))\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>"
                }
                if cut < seg.count {
                    svg +=
                        "<path class=\"line partial\" d=\"\(path(seg[max(0, cut - 1)...]))\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\" stroke-linecap=\"round\"/>"
                }
            }
            svg += "</g>"
        }
        // Hover markers on top of every line.
        svg += "<g class=\"points\">"
        for (i, segments) in runs.enumerated() where !segments.isEmpty {
            let points = segments.flatMap { $0 }
            let sparse = plotW / Double(points.count) >= 14 || segments.contains { $0.count == 1 }
            let name = series[i].name
            svg += "<g class=\"pts series-\(i % 8)\(sparse ? " on" : "")\" fill=\"currentColor\" fill-opacity=\"\(sparse ? "1" : "0")\">"
            for p in points {
                var title = name.isEmpty ? "" : name + " · "
                title += bucket.map { $0.detailLabel(p.x) } ?? ValueFormat.number.precise(p.x)
                title += " · " + yFormat.precise(p.y) + (unit.isEmpty ? "" : " " + unit)
                if let partialFrom, p.x >= partialFrom { title += " (so far: the bucket is still filling)" }
                svg += "<circle class=\"pt\" cx=\"\(c(px(p.x)))\" cy=\"\(c(py(p.y)))\" r=\"\(sparse ? "3" : "4")\"><title>\(esc(title))</title></circle>"
            }
            svg += "</g>"
        }
        svg += "</g>"

        if !legend.isEmpty {
            let legendTop = top + plotH + xLabelH + 2
            svg += "<g class=\"legend\">"
            for item in legend {
                let cy = legendTop + Double(item.row) * legendRowH + legendRowH / 2
                svg += "<g class=\"legend-item\"><title>\(esc(item.full))</title>"
                svg +=
                    "<rect class=\"swatch series-\(item.index % 8)\" x=\"\(c(item.x))\" y=\"\(c(cy - 5))\" width=\"10\" height=\"10\" rx=\"2\" fill=\"currentColor\"/>"
                svg += "<text x=\"\(c(item.x + 15))\" y=\"\(c(cy))\" dy=\"0.35em\">\(esc(item.text))</text></g>"
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bar chart (e.g. cost by model): label | bar | value, one row per item, in the
    /// given order. Height follows the number of rows. Hover titles show the precise value and the
    /// share of the total.
    public static func bars(
        _ items: [(label: String, value: Double)], format: ValueFormat, unit: String = "",
        width: Int = SVGChart.panelWidth, label: String
    ) -> String {
        let W = Double(clamp(width, 120, 4000))
        let rows = items.filter { $0.value.isFinite }
        guard !rows.isEmpty else { return noData(kind: "bars", width: W, height: 48, label: label) }
        let rowH = 22.0, barH = 12.0, pad = 2.0
        let H = pad * 2 + rowH * Double(rows.count)
        let valueTexts = rows.map { format.format($0.value) }
        let valueW = (valueTexts.map { textWidth($0) }.max() ?? 0).rounded(.up)
        let labelW = min((rows.map { textWidth($0.label) }.max() ?? 0).rounded(.up), (W * 0.4).rounded(.down))
        let barX = labelW + 10
        let barMaxW = max(10, W - barX - valueW - 10)
        let maxValue = rows.map { max(0, $0.value) }.max() ?? 0
        let total = rows.reduce(0) { $0 + max(0, $1.value) }
        let allNonNegative = rows.allSatisfy { $0.value >= 0 }

        let top = rows.max { $0.value < $1.value }!
        var aria = "\(label). Bar chart, \(rows.count) \(rows.count == 1 ? "item" : "items")"
        aria += "; largest \(top.label) \(format.precise(top.value))\(unit.isEmpty ? "" : " " + unit)"
        var svg = open(kind: "bars", width: W, height: H, aria: aria)
        svg += "<g class=\"bars series-0\">"
        for (i, row) in rows.enumerated() {
            let rowTop = pad + Double(i) * rowH, cy = rowTop + rowH / 2
            var title = (row.label.isEmpty ? "" : row.label + " · ") + format.precise(row.value) + (unit.isEmpty ? "" : " " + unit)
            if allNonNegative, total > 0, rows.count > 1 {
                title += " (" + ValueFormat.percent.format(row.value / total) + ")"
            }
            let barW = maxValue > 0 ? max(row.value > 0 ? 1 : 0, barMaxW * max(0, row.value) / maxValue) : 0
            svg += "<g class=\"row\"><title>\(esc(title))</title>"
            svg += "<rect class=\"hit\" x=\"0\" y=\"\(c(rowTop))\" width=\"\(c(W))\" height=\"\(c(rowH))\" fill=\"none\" pointer-events=\"all\"/>"
            svg += "<text class=\"label\" x=\"0\" y=\"\(c(cy))\" dy=\"0.35em\">\(esc(truncate(row.label, maxWidth: labelW)))</text>"
            svg +=
                "<rect class=\"track\" x=\"\(c(barX))\" y=\"\(c(cy - barH / 2))\" width=\"\(c(barMaxW))\" height=\"\(c(barH))\" rx=\"2\" fill=\"currentColor\" fill-opacity=\"0.06\"/>"
            svg += "<rect class=\"bar\" x=\"\(c(barX))\" y=\"\(c(cy - barH / 2))\" width=\"\(c(barW))\" height=\"\(c(barH))\" rx=\"2\" fill=\"currentColor\"/>"
            svg += "<text class=\"value\" x=\"\(c(W))\" y=\"\(c(cy))\" dy=\"0.35em\" text-anchor=\"end\">\(esc(valueTexts[i]))</text></g>"
        }
        return svg + "</g></svg>"
    }

    /// Histogram from pre-binned counts (one bar per bin, in ascending order of `lower`).
    /// Equal-width contiguous bins get a linear x axis with nice ticks; uneven bins (e.g.
    /// exponential latency buckets) are drawn equally wide with their boundaries as labels.
    /// Bins with NaN/infinite bounds are skipped.
    public static func histogram(
        bins: [(lower: Double, upper: Double, count: Int)], xFormat: ValueFormat, unit: String = "",
        width: Int = SVGChart.panelWidth, height: Int = 160, label: String
    ) -> String {
        let W = Double(clamp(width, 160, 4000)), H = Double(clamp(height, 80, 2000))
        let cleaned =
            bins
            .filter { $0.lower.isFinite && $0.upper.isFinite }
            .map { (lower: min($0.lower, $0.upper), upper: max($0.lower, $0.upper), count: max(0, $0.count)) }
            .sorted { $0.lower < $1.lower }
        guard let firstBin = cleaned.first, let lastBin = cleaned.last else {
            return noData(kind: "histogram", width: W, height: H, label: label)
        }
        let firstWidth = firstBin.upper - firstBin.lower
        let linear =
            firstWidth > 0 && lastBin.upper > firstBin.lower
            && cleaned.enumerated().allSatisfy { i, b in
                abs((b.upper - b.lower) - firstWidth) <= firstWidth * 0.01
                    && (i == 0 || abs(b.lower - cleaned[i - 1].upper) <= firstWidth * 0.01)
            }
        let top = 8.0, bottom = 20.0, right = 10.0
        let plotH = max(20, H - top - bottom)
        let maxCount = cleaned.map(\.count).max() ?? 0
        let total = cleaned.reduce(0) { $0 + $1.count }
        let yTicks = ChartAxis.niceTicks(min: 0, max: Double(maxCount), intervals: max(1, min(4, Int(plotH / 28))), integer: true)
        let yLabels = ChartAxis.labels(for: yTicks, format: .integer)
        let left = max(24, (yLabels.map { textWidth($0) }.max() ?? 0) + 10).rounded(.up)
        let plotW = max(20, W - left - right)
        let y1 = yTicks.last ?? 1
        func py(_ v: Double) -> Double { top + plotH * (1 - v / (y1 == 0 ? 1 : y1)) }

        // Horizontal extent of each bin, and x-axis labels.
        var extents: [(x: Double, w: Double)] = []
        var xTicks: [(Double, String)] = []
        if linear {
            let x0 = firstBin.lower, x1 = lastBin.upper
            func px(_ v: Double) -> Double { left + plotW * (v - x0) / (x1 - x0) }
            extents = cleaned.map { (px($0.lower), px($0.upper) - px($0.lower)) }
            let eps = (x1 - x0) * 1e-9
            let ticks = ChartAxis.niceTicks(min: x0, max: x1, intervals: max(1, Int(plotW / 80))).filter { $0 >= x0 - eps && $0 <= x1 + eps }
            xTicks = Array(zip(ticks.map(px), ChartAxis.labels(for: ticks, format: xFormat)))
        } else {
            let binW = plotW / Double(cleaned.count)
            extents = cleaned.indices.map { (left + binW * Double($0), binW) }
            let boundaries = [firstBin.lower] + cleaned.map(\.upper)
            let widest = boundaries.map { textWidth(xFormat.format($0)) }.max() ?? 0
            let every = max(1, Int(((widest + 10) / binW).rounded(.up)))
            xTicks = boundaries.indices.filter { $0 % every == 0 }.map { (left + binW * Double($0), xFormat.format(boundaries[$0])) }
        }

        var aria = "\(label). Histogram, \(cleaned.count) \(cleaned.count == 1 ? "bin" : "bins") from "
        aria +=
            "\(xFormat.format(firstBin.lower)) to \(xFormat.format(lastBin.upper)), \(ValueFormat.integer.format(Double(total)))\(unit.isEmpty ? "" : " " + unit) in total"
        var svg = open(kind: "histogram", width: W, height: H, aria: aria)
        svg += gridAndYAxis(yTicks: yTicks, yLabels: yLabels, py: py, left: left, plotW: plotW)
        svg += xAxis(ticks: thin(xTicks), top: top, plotH: plotH, width: W, labelY: top + plotH + 14, verticalGrid: false)
        svg += "<g class=\"bins series-0\">"
        for (i, bin) in cleaned.enumerated() {
            let e = extents[i]
            let gap = e.w > 4 ? 1.0 : 0
            var title = xFormat.format(bin.lower) + " – " + xFormat.format(bin.upper) + " · "
            title += ValueFormat.integer.format(Double(bin.count)) + (unit.isEmpty ? "" : " " + unit)
            if total > 0 { title += " (" + ValueFormat.percent.format(Double(bin.count) / Double(total)) + ")" }
            let barTop = py(Double(bin.count))
            svg += "<g class=\"bin\"><title>\(esc(title))</title>"
            svg += "<rect class=\"hit\" x=\"\(c(e.x))\" y=\"\(c(top))\" width=\"\(c(e.w))\" height=\"\(c(plotH))\" fill=\"none\" pointer-events=\"all\"/>"
            svg +=
                "<rect class=\"bar\" x=\"\(c(e.x + gap / 2))\" y=\"\(c(barTop))\" width=\"\(c(max(0, e.w - gap)))\" height=\"\(c(top + plotH - barTop))\" fill=\"currentColor\"/></g>"
        }
        return svg + "</g></svg>"
    }

    /// Histogram of raw values (e.g. latencies), binned with `histogramBins(values:binCount:)`.
    public static func histogram(
        values: [Double], binCount: Int = 20, xFormat: ValueFormat, unit: String = "",
        width: Int = SVGChart.panelWidth, height: Int = 160, label: String
    ) -> String {
        histogram(bins: histogramBins(values: values, binCount: binCount), xFormat: xFormat, unit: unit, width: width, height: height, label: label)
    }

    /// Bins finite values into about `binCount` equal bins whose width is a nice 1/2/5 × 10ⁿ step
    /// and whose edges are multiples of it (0–10, 10–20, …); the last bin includes the maximum.
    public static func histogramBins(values: [Double], binCount: Int) -> [(lower: Double, upper: Double, count: Int)] {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return [] }
        let target = Double(clamp(binCount, 1, 200))
        let step = lo == hi ? ChartAxis.niceStep(max(abs(lo), 1) / target) : ChartAxis.niceStep((hi - lo) / target)
        let start = (lo / step).rounded(.down) * step
        guard (hi - start) / step < 10_000 else { return [(lo, hi, finite.count)] }
        let n = max(1, Int(((hi - start) / step).rounded(.up)))
        var counts = [Int](repeating: 0, count: n)
        for v in finite { counts[min(n - 1, max(0, Int(((v - start) / step).rounded(.down))))] += 1 }
        let decimals = max(0, -Int(log10(step).rounded(.down)))
        return counts.enumerated().map { i, count in
            (
                ChartAxis.clean(start + Double(i) * step, decimals: decimals),
                ChartAxis.clean(start + Double(i + 1) * step, decimals: decimals), count
            )
        }
    }

    /// Tiny trend line for table cells: no axes, no fill, min–max scaled, last value marked. NaN/infinite
    /// values leave gaps. Hover title: "label · last … · min … · max …".
    public static func sparkline(
        _ values: [Double], format: ValueFormat = .number, width: Int = 96, height: Int = 24, label: String
    ) -> String {
        let W = Double(clamp(width, 16, 2000)), H = Double(clamp(height, 8, 500))
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max(), let last = finite.last else {
            return noData(kind: "sparkline", width: W, height: H, label: label)
        }
        let pad = 2.5
        func px(_ i: Int) -> Double { values.count == 1 ? W / 2 : pad + (W - 2 * pad) * Double(i) / Double(values.count - 1) }
        func py(_ v: Double) -> Double { hi == lo ? H / 2 : pad + (H - 2 * pad) * (1 - (v - lo) / (hi - lo)) }
        var title = label.isEmpty ? "" : label + " · "
        title += "last \(format.precise(last)) · min \(format.precise(lo)) · max \(format.precise(hi))"
        var svg = open(kind: "sparkline", width: W, height: H, aria: title, extraClass: " tern-sparkline")
        svg += "<title>\(esc(title))</title><g class=\"series series-0\">"
        var segments: [[Int]] = [], current: [Int] = []
        for (i, v) in values.enumerated() {
            if v.isFinite { current.append(i) } else if !current.isEmpty { segments.append(current); current = [] }
        }
        if !current.isEmpty { segments.append(current) }
        for seg in segments where seg.count > 1 {
            let d = seg.enumerated().map { k, i in (k == 0 ? "M" : "L") + c(px(i)) + " " + c(py(values[i])) }.joined()
            svg +=
                "<path class=\"line\" d=\"\(d)\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.25\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>"
        }
        let lastIndex = values.lastIndex { $0.isFinite }!
        svg += "<circle class=\"last\" cx=\"\(c(px(lastIndex)))\" cy=\"\(c(py(values[lastIndex])))\" r=\"1.75\" fill=\"currentColor\"/>"
        return svg + "</g></svg>"
    }
}

// MARK: - Shared drawing helpers

extension SVGChart {
    static func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v, lo), hi) }

    static func c(_ v: Double) -> String { Fmt.coord(v) }

    /// HTML-escapes text for SVG element content/attributes, dropping control characters that
    /// are not allowed in XML.
    static func esc(_ text: String) -> String {
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars
        where !(s.value < 0x20 && s != "\t" && s != "\n" && s != "\r") && s.value != 0x7F
            && !(0xFFFE...0xFFFF).contains(s.value)
        {
            cleaned.append(s)
        }
        return HTML.escape(String(cleaned))
    }

    /// Rough rendered width of 11px UI-font text.
    static func textWidth(_ text: String, size: Double = 11) -> Double {
        var em = 0.0
        for ch in text {
            switch ch {
            case "i", "l", "j", "I", "!", "|", ".", ",", ":", ";", "'", " ": em += 0.32
            case "f", "t", "r", "(", ")", "[", "]", "-": em += 0.42
            case "m", "w", "M", "W", "@", "%": em += 0.92
            case "A"..."Z", "$", "&", "–", "—": em += 0.7
            default: em += ch.isASCII ? 0.6 : 0.85
            }
        }
        return em * size
    }

    static func truncate(_ text: String, maxWidth: Double) -> String {
        guard textWidth(text) > maxWidth else { return text }
        var out = ""
        for ch in text {
            if textWidth(out + String(ch) + "…") > maxWidth { break }
            out.append(ch)
        }
        return out + "…"
    }

    static func open(kind: String, width: Double, height: Double, aria: String, extraClass: String = "") -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"tern-chart tern-chart-\(kind)\(extraClass)\" "
            + "viewBox=\"0 0 \(c(width)) \(c(height))\" width=\"\(c(width))\" height=\"\(c(height))\" "
            + "style=\"max-width:\(c(width * 1.5))px\" "
            + "preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"\(esc(aria))\" "
            + "font-size=\"11\" fill=\"currentColor\">"
    }

    static func noData(kind: String, width: Double, height: Double, label: String) -> String {
        let small = height < 40
        var svg = open(
            kind: kind, width: width, height: height, aria: label.isEmpty ? "No data" : "\(label): no data",
            extraClass: " tern-chart-empty" + (kind == "sparkline" ? " tern-sparkline" : ""))
        if !small {
            svg +=
                "<rect class=\"frame\" x=\"0.5\" y=\"0.5\" width=\"\(c(width - 1))\" height=\"\(c(height - 1))\" rx=\"4\" fill=\"none\" stroke=\"currentColor\" stroke-opacity=\"0.2\" stroke-dasharray=\"3 3\"/>"
        }
        svg +=
            "<text class=\"empty\" x=\"\(c(width / 2))\" y=\"\(c(height / 2))\" dy=\"0.35em\" text-anchor=\"middle\"\(small ? " font-size=\"9\"" : "")>No data</text>"
        return svg + "</svg>"
    }

    /// Horizontal grid lines (the zero line as `axis`) and right-aligned y labels.
    static func gridAndYAxis(yTicks: [Double], yLabels: [String], py: (Double) -> Double, left: Double, plotW: Double) -> String {
        var grid = "<g class=\"grid\" stroke=\"currentColor\" stroke-opacity=\"0.12\" shape-rendering=\"crispEdges\">"
        var axis = ""
        var labels = "<g class=\"y-labels\" text-anchor=\"end\">"
        for (i, t) in yTicks.enumerated() {
            let y = crisp(py(t))
            let line = "<line x1=\"\(c(left))\" x2=\"\(c(left + plotW))\" y1=\"\(c(y))\" y2=\"\(c(y))\"/>"
            if t == 0 { axis = line } else { grid += line }
            labels += "<text x=\"\(c(left - 6))\" y=\"\(c(py(t)))\" dy=\"0.35em\">\(esc(yLabels[i]))</text>"
        }
        grid += "</g>"
        if !axis.isEmpty {
            grid += "<g class=\"axis\" stroke=\"currentColor\" stroke-opacity=\"0.35\" shape-rendering=\"crispEdges\">\(axis)</g>"
        }
        return grid + labels + "</g>"
    }

    /// X labels (centred on their tick, kept inside the chart) with optional vertical grid lines.
    static func xAxis(ticks: [(Double, String)], top: Double, plotH: Double, width: Double, labelY: Double, verticalGrid: Bool = true) -> String {
        var out = ""
        if verticalGrid, !ticks.isEmpty {
            out += "<g class=\"grid\" stroke=\"currentColor\" stroke-opacity=\"0.12\" shape-rendering=\"crispEdges\">"
            for (x, _) in ticks {
                let cx = crisp(x)
                out += "<line x1=\"\(c(cx))\" x2=\"\(c(cx))\" y1=\"\(c(top))\" y2=\"\(c(top + plotH))\"/>"
            }
            out += "</g>"
        }
        out += "<g class=\"x-labels\" text-anchor=\"middle\">"
        for (x, label) in ticks {
            let half = textWidth(label) / 2
            let cx = min(max(x, half + 1), width - half - 1)
            out += "<text x=\"\(c(cx))\" y=\"\(c(labelY))\" dy=\"0.35em\">\(esc(label))</text>"
        }
        return out + "</g>"
    }

    /// Drops labels that would overlap their left neighbour (keeps the first).
    static func thin(_ ticks: [(Double, String)]) -> [(Double, String)] {
        var kept: [(Double, String)] = []
        for t in ticks {
            if let prev = kept.last, t.0 - prev.0 < (textWidth(prev.1) + textWidth(t.1)) / 2 + 10 { continue }
            kept.append(t)
        }
        return kept
    }

    static func crisp(_ v: Double) -> Double { v.rounded(.down) + 0.5 }

    static func lineSummary(
        _ series: [ChartSeries], runs: [[[ChartPoint]]], bucket: TimeBucket?, xMin: Double, xMax: Double,
        yMax: Double, yFormat: ValueFormat, unit: String, label: String
    ) -> String {
        let names = series.map(\.name).filter { !$0.isEmpty }
        var s = "\(label). Line chart"
        if series.count > 1 {
            s += ", \(series.count) series"
            if !names.isEmpty { s += " (" + names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", …" : "") + ")" }
        }
        let fmt: (Double) -> String = { x in bucket.map { $0.detailLabel(x) } ?? ValueFormat.number.precise(x) }
        s += xMin == xMax ? ", at \(fmt(xMin))" : ", \(fmt(xMin)) to \(fmt(xMax))"
        s += "; peak \(yFormat.precise(yMax))" + (unit.isEmpty ? "" : " " + unit)
        return s
    }
}
