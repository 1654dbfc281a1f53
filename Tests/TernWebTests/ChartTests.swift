import Foundation
import Testing
import TernWeb

#if canImport(FoundationXML)
    import FoundationXML
#endif

// MARK: - XML helper

/// Parses SVG output with XMLParser and records elements, classes and text content.
private final class SVGDoc: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }
    }
    var elements: [Element] = []
    var titles: [String] = []
    var texts: [String] = []
    private var buffer = ""

    static func parse(_ svg: String) -> SVGDoc? {
        let parser = XMLParser(data: Data(svg.utf8))
        let doc = SVGDoc()
        parser.delegate = doc
        return parser.parse() ? doc : nil
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
        elements.append(Element(name: elementName, attributes: attributeDict))
        buffer = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { buffer += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if elementName == "title" { titles.append(buffer) }
        if elementName == "text" { texts.append(buffer) }
        buffer = ""
    }

    var root: Element? { elements.first }
    func count(_ name: String, class cls: String? = nil) -> Int {
        elements.filter { $0.name == name && (cls == nil || $0.classes.contains(cls!)) }.count
    }
}

private func parsed(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> SVGDoc {
    let doc = try #require(SVGDoc.parse(svg), "not well-formed XML:\n\(svg.prefix(400))", sourceLocation: sourceLocation)
    let root = try #require(doc.root, sourceLocation: sourceLocation)
    #expect(root.name == "svg", sourceLocation: sourceLocation)
    #expect(root.attributes["role"] == "img", sourceLocation: sourceLocation)
    #expect(root.attributes["viewBox"]?.hasPrefix("0 0 ") == true, sourceLocation: sourceLocation)
    #expect(!(root.attributes["aria-label"] ?? "").isEmpty, sourceLocation: sourceLocation)
    #expect(!svg.lowercased().contains("nan"), sourceLocation: sourceLocation)
    #expect(!svg.contains("inf"), sourceLocation: sourceLocation)
    return doc
}

// 2026-11-28 00:00:00 UTC (a Saturday)
private let nov28: Double = 1_795_824_000
private let hour = 3600.0

private func hourly(_ name: String, _ values: [Double], start: Double = nov28) -> ChartSeries {
    ChartSeries(name: name, points: values.enumerated().map { ChartPoint(x: start + Double($0.offset) * hour, y: $0.element) })
}

// MARK: - Axis maths

@Test func niceTicksOnKnownRanges() {
    #expect(ChartAxis.niceTicks(min: 0, max: 0.87) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    #expect(ChartAxis.niceTicks(min: 0, max: 100) == [0, 20, 40, 60, 80, 100])
    #expect(ChartAxis.niceTicks(min: 0, max: 1234) == [0, 500, 1000, 1500])
    #expect(ChartAxis.niceTicks(min: 3, max: 97) == [0, 20, 40, 60, 80, 100])
    #expect(ChartAxis.niceTicks(min: -7, max: 13) == [-10, -5, 0, 5, 10, 15])
    #expect(ChartAxis.niceTicks(min: 0, max: 0.0042, intervals: 4) == [0, 0.002, 0.004, 0.006])
    #expect(ChartAxis.niceTicks(min: 0, max: 8_700_000, intervals: 4) == [0, 5_000_000, 10_000_000])
    // degenerate ranges
    #expect(ChartAxis.niceTicks(min: 0, max: 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    #expect(ChartAxis.niceTicks(min: 5, max: 5) == [0, 1, 2, 3, 4, 5])
    #expect(ChartAxis.niceTicks(min: 0, max: 3, integer: true) == [0, 1, 2, 3])
    #expect(ChartAxis.niceTicks(min: 0, max: 0, integer: true) == [0, 1])
    // steps are always 1/2/5 × 10^n
    #expect(ChartAxis.niceStep(0.174) == 0.2)
    #expect(ChartAxis.niceStep(3) == 5)
    #expect(ChartAxis.niceStep(7) == 10)
    #expect(ChartAxis.niceStep(100) == 100)
}

@Test func axisLabelsShareUnitAndPrecision() {
    #expect(ChartAxis.labels(for: [0, 500, 1000, 1500], format: .milliseconds) == ["0 s", "0.5 s", "1 s", "1.5 s"])
    #expect(ChartAxis.labels(for: [0, 20, 40], format: .milliseconds) == ["0 ms", "20 ms", "40 ms"])
    #expect(ChartAxis.labels(for: [0, 1000, 2000], format: .number) == ["0", "1k", "2k"])
    #expect(ChartAxis.labels(for: [1000, 1200, 1400], format: .number) == ["1k", "1.2k", "1.4k"])
    #expect(ChartAxis.labels(for: [0, 0.2, 0.4], format: .number) == ["0", "0.2", "0.4"])
    #expect(ChartAxis.labels(for: [0, 5_000_000, 10_000_000], format: .number) == ["0", "5M", "10M"])
    #expect(ChartAxis.labels(for: [0, 0.5, 1], format: .percent) == ["0%", "50%", "100%"])
    #expect(ChartAxis.labels(for: [0, 0.5, 1], format: .usd) == ["$0", "$0.50", "$1.00"])
    #expect(ChartAxis.labels(for: [0, 0.001, 0.002], format: .usd) == ["$0", "$0.001", "$0.002"])
    #expect(ChartAxis.labels(for: [0, 1000, 2000], format: .usd) == ["$0", "$1,000", "$2,000"])
    #expect(ChartAxis.labels(for: [-10, 0, 10], format: .integer) == ["-10", "0", "10"])
}

@Test func valueFormats() {
    #expect(ValueFormat.number.format(950) == "950")
    #expect(ValueFormat.number.format(1234) == "1.2k")
    #expect(ValueFormat.number.format(3_400_000) == "3.4M")
    #expect(ValueFormat.number.format(999_999) == "1M")
    #expect(ValueFormat.number.format(0.0012) == "0.0012")
    #expect(ValueFormat.number.format(12.5) == "12.5")
    #expect(ValueFormat.number.format(-1500) == "-1.5k")
    #expect(ValueFormat.integer.format(1234.4) == "1,234")
    #expect(ValueFormat.integer.format(1_234_567) == "1,234,567")
    #expect(ValueFormat.milliseconds.format(0.5) == "0.5 ms")
    #expect(ValueFormat.milliseconds.format(62.5) == "62.5 ms")
    #expect(ValueFormat.milliseconds.format(250) == "250 ms")
    #expect(ValueFormat.milliseconds.format(1234) == "1.23 s")
    #expect(ValueFormat.milliseconds.format(75_400) == "75.4 s")
    #expect(ValueFormat.usd.format(0.0012) == "$0.0012")
    #expect(ValueFormat.usd.format(0.5) == "$0.50")
    #expect(ValueFormat.usd.format(12.3) == "$12.30")
    #expect(ValueFormat.usd.format(1234.5) == "$1,234.50")
    #expect(ValueFormat.usd.format(0) == "$0")
    #expect(ValueFormat.percent.format(0.123) == "12.3%")
    #expect(ValueFormat.percent.format(1) == "100%")
    #expect(ValueFormat.percent.format(0.0025) == "0.25%")
    #expect(ValueFormat.number.format(.nan) == "–")
    #expect(ValueFormat.usd.format(.infinity) == "–")
}

@Test func timeLabelsPerBucket() {
    let t = nov28 + 14 * hour + 5 * 60
    #expect(TimeBucket.minute.label(t) == "14:05")
    #expect(TimeBucket.hour.label(nov28 + 14 * hour) == "14:00")
    #expect(TimeBucket.day.label(nov28) == "Nov 28")
    #expect(TimeBucket.week.label(nov28) == "Nov 28")
    #expect(TimeBucket.month.label(1_793_491_200) == "Nov 2026")
    #expect(TimeBucket.hour.detailLabel(nov28 + 14 * hour) == "Nov 28 14:00")
    #expect(TimeBucket.day.detailLabel(nov28) == "Nov 28, 2026")
    #expect(TimeBucket.month.detailLabel(1_793_491_200) == "Nov 2026")
    // UTC, including before 1970 and across a leap day
    #expect(TimeBucket.day.detailLabel(0) == "Jan 1, 1970")
    #expect(TimeBucket.day.detailLabel(-86400) == "Dec 31, 1969")
    #expect(TimeBucket.day.detailLabel(1_709_164_800) == "Feb 29, 2024")
}

@Test func timeTicksAlignToCalendar() {
    // one day of hourly data: 6-hourly ticks, midnights shown as dates
    let day = ChartAxis.timeTicks(from: nov28, to: nov28 + 24 * hour, bucket: .hour, maxTicks: 6)
    #expect(day.map(\.label) == ["Nov 28", "06:00", "12:00", "18:00", "Nov 29"])
    // an hour of minute data
    let minutes = ChartAxis.timeTicks(from: nov28 + 14 * hour + 3 * 60, to: nov28 + 15 * hour, bucket: .minute, maxTicks: 6)
    #expect(minutes.map(\.label) == ["14:10", "14:20", "14:30", "14:40", "14:50", "15:00"])
    // a month of daily data: weekly ticks on Mondays
    let month = ChartAxis.timeTicks(from: nov28 - 30 * 86400, to: nov28, bucket: .day, maxTicks: 6)
    #expect(month.count >= 4 && month.count <= 6)
    for tick in month {
        let days = Int(tick.value / 86400)
        #expect((days - 4) % 7 == 0, "tick \(tick.label) is not a Monday")
    }
    #expect(month.first?.label == "Nov 2")
    // monthly data: first-of-month ticks labelled "Mon YYYY"
    let months = ChartAxis.timeTicks(from: 1_768_435_200, to: 1_780_272_000, bucket: .month, maxTicks: 8)
    #expect(months.map(\.label) == ["Feb 2026", "Mar 2026", "Apr 2026", "May 2026", "Jun 2026"])
    // ticks are never finer than the bucket
    let coarse = ChartAxis.timeTicks(from: nov28, to: nov28 + 3 * hour, bucket: .hour, maxTicks: 50)
    #expect(coarse.map(\.label) == ["Nov 28", "01:00", "02:00", "03:00"])
}

// MARK: - Line chart

@Test func lineChartHasMarkerPerPointWithTitlesAndLegend() throws {
    let a = hourly("gpt-4o", (0..<24).map { Double($0 * 100) + 34 })
    let b = hourly("claude-sonnet", (0..<24).map { Double($0) * 10 })
    let svg = SVGChart.line([a, b], bucket: .hour, yFormat: .integer, unit: "requests", label: "Requests per hour")
    let doc = try parsed(svg)
    #expect(doc.count("circle", class: "pt") == 48)
    #expect(doc.titles.contains("gpt-4o · Nov 28 12:00 · 1,234 requests"))
    #expect(doc.titles.contains("claude-sonnet · Nov 28 23:00 · 230 requests"))
    #expect(doc.count("path", class: "line") == 2)
    #expect(doc.elements.contains { $0.classes.contains("series-0") })
    #expect(doc.elements.contains { $0.classes.contains("series-1") })
    #expect(doc.count("g", class: "legend-item") == 2)
    #expect(doc.texts.contains("gpt-4o") && doc.texts.contains("claude-sonnet"))
    // y axis labels are nice, x labels are times
    #expect(doc.texts.contains("0") && doc.texts.contains("1,000") && doc.texts.contains("2,000"))
    #expect(doc.texts.contains("Nov 28") && doc.texts.contains("12:00"))
    let root = try #require(doc.root)
    #expect(root.attributes["viewBox"] == "0 0 380 200", "drawn at a panel's width")
    #expect(root.attributes["style"] == "max-width:570px", "shown up to 1.5 times larger, never smaller where there is room")
    #expect(root.attributes["preserveAspectRatio"] == "xMidYMid meet")
    #expect(root.attributes["aria-label"]?.hasPrefix("Requests per hour. Line chart, 2 series (gpt-4o, claude-sonnet)") == true)
    // colours only via classes / currentColor
    #expect(!svg.contains("#") && !svg.contains("rgb"))
}

@Test func theBucketStillFillingIsDashedNotADrop() throws {
    let series = hourly("traces", [120, 130, 125, 9])
    let last = try #require(series.points.last?.x)
    let svg = SVGChart.line([series], bucket: .hour, yFormat: .integer, label: "Traces per hour", partialFrom: last)
    let doc = try parsed(svg)
    #expect(doc.count("path", class: "line") == 2, "a solid line to the last full hour, and a dashed one to the current")
    let partial = try #require(doc.elements.first { $0.name == "path" && $0.classes.contains("partial") })
    #expect(partial.attributes["stroke-dasharray"] == "4 3")
    #expect(partial.attributes["d"]?.components(separatedBy: "L").count == 2, "one step: from the last full hour to the current one")
    #expect(doc.titles.contains { $0.hasSuffix("9 (so far: the bucket is still filling)") })
    #expect(!doc.titles.contains { $0.contains("125") && $0.contains("so far") })
    let whole = try parsed(SVGChart.line([series], bucket: .hour, yFormat: .integer, label: "Traces per hour"))
    #expect(whole.count("path", class: "partial") == 0)
}

@Test func singleSeriesHasNoLegendAndMinuteLabels() throws {
    let start = nov28 + 14 * hour
    let s = ChartSeries(name: "", points: (0..<60).map { ChartPoint(x: start + Double($0) * 60, y: Double($0 % 7) * 12.5) })
    let doc = try parsed(SVGChart.line([s], bucket: .minute, yFormat: .milliseconds, width: 640, label: "Latency"))
    #expect(doc.count("circle") == 60)
    #expect(doc.count("g", class: "legend") == 0)
    #expect(doc.titles.contains("Nov 28 14:05 · 62.5 ms"))
    #expect(doc.texts.contains("14:10") && doc.texts.contains("14:50"))
    #expect(doc.texts.contains("80 ms"))
}

@Test func lineChartSkipsNaNAndInfinity() throws {
    var values = (0..<10).map(Double.init)
    values[3] = .nan
    values[7] = .infinity
    var series = hourly("s", values)
    series.points.append(ChartPoint(x: .nan, y: 1))
    let svg = SVGChart.line([series], bucket: .hour, yFormat: .number, label: "gaps")
    let doc = try parsed(svg)
    #expect(doc.count("circle") == 8)
    // the gaps split the line into three runs
    #expect(doc.count("path", class: "line") == 3)
}

@Test func lineChartEdgeCases() throws {
    // single point: visible marker, no crash
    let one = try parsed(SVGChart.line([hourly("only", [42])], bucket: .hour, yFormat: .number, label: "one"))
    #expect(one.count("circle") == 1)
    #expect(one.titles == ["only · Nov 28 00:00 · 42"])
    #expect(one.elements.contains { $0.classes.contains("pts") && $0.attributes["fill-opacity"] == "1" })
    // all zero
    let zeros = try parsed(SVGChart.line([hourly("z", Array(repeating: 0, count: 12))], bucket: .hour, yFormat: .integer, label: "zeros"))
    #expect(zeros.count("circle") == 12)
    #expect(zeros.texts.contains("0") && zeros.texts.contains("1"))
    // negative values
    let negative = try parsed(SVGChart.line([hourly("n", [-5, 3, -12, 8])], bucket: nil, yFormat: .number, label: "neg"))
    #expect(negative.count("circle") == 4)
    #expect(negative.texts.contains("-10"))
    // extreme magnitudes and far-away timestamps do not crash
    _ = try parsed(SVGChart.line([hourly("big", [1e300, -1e300, 1e-300])], bucket: .hour, yFormat: .usd, label: "huge"))
    _ = SVGChart.line([ChartSeries(name: "far", points: [ChartPoint(x: 1e18, y: 1), ChartPoint(x: 0, y: 2)])], bucket: .day, yFormat: .number, label: "far")
    // tiny and zero sizes are clamped
    _ = try parsed(SVGChart.line([hourly("s", [1, 2, 3])], bucket: .hour, yFormat: .number, width: 0, height: -5, label: "tiny"))
}

@Test func manySeriesCycleThroughEightColourClasses() throws {
    let series = (0..<10).map { i in hourly("model-\(i)", [Double(i), Double(i + 1)]) }
    let doc = try parsed(SVGChart.line(series, bucket: .day, yFormat: .number, label: "many"))
    #expect(doc.count("g", class: "legend-item") == 10)
    let swatches = doc.elements.filter { $0.classes.contains("swatch") }.map { $0.attributes["class"] ?? "" }
    #expect(swatches[8] == "swatch series-0" && swatches[9] == "swatch series-1")
    #expect(!doc.elements.contains { $0.classes.contains("series-8") })
}

// MARK: - Escaping, empty data, determinism

@Test func labelsAndTitlesAreEscaped() throws {
    let evil = "<script>alert('x')</script> & co"
    let svgs = [
        SVGChart.line([hourly(evil, [1, 2]), hourly("b & \"c\"", [3, 4])], bucket: .hour, yFormat: .number, unit: "<b>", label: evil),
        SVGChart.bars([(label: evil, value: 1), (label: "ok", value: 2)], format: .usd, unit: "&", label: evil),
        SVGChart.histogram(bins: [(lower: 0, upper: 1, count: 3)], xFormat: .number, unit: evil, label: evil),
        SVGChart.sparkline([1, 2, 3], label: evil),
        SVGChart.line([], bucket: .hour, yFormat: .number, label: evil),
        SVGChart.bars([(label: "a\u{0}b\u{1B}", value: 1)], format: .number, label: "ctrl\u{7}"),
    ]
    for svg in svgs {
        #expect(!svg.contains("<script"))
        #expect(!svg.contains("<b>"))
        let doc = try parsed(svg)
        #expect(doc.root?.attributes["aria-label"]?.contains("<") != true || doc.root?.attributes["aria-label"]?.hasPrefix(evil) == true)
    }
    #expect(svgs[0].contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"))
    // the parser hands back the original text
    let doc = try parsed(svgs[1])
    #expect(doc.titles.contains { $0.hasPrefix(evil + " · $1.00 &") })
}

@Test func emptyDataRendersNoData() throws {
    let cases = [
        SVGChart.line([], bucket: .hour, yFormat: .number, label: "x"),
        SVGChart.line([ChartSeries(name: "a", points: [])], bucket: .hour, yFormat: .number, label: "x"),
        SVGChart.line([hourly("a", [.nan, .infinity])], bucket: nil, yFormat: .number, label: "x"),
        SVGChart.bars([], format: .number, label: "x"),
        SVGChart.bars([(label: "a", value: .nan)], format: .number, label: "x"),
        SVGChart.histogram(bins: [], xFormat: .milliseconds, label: "x"),
        SVGChart.histogram(values: [.nan], binCount: 10, xFormat: .milliseconds, label: "x"),
        SVGChart.sparkline([], label: "x"),
    ]
    for svg in cases {
        let doc = try parsed(svg)
        #expect(doc.texts == ["No data"])
        #expect(doc.root?.attributes["aria-label"] == "x: no data")
        #expect(doc.root?.classes.contains("tern-chart-empty") == true)
    }
}

@Test func outputIsDeterministic() {
    let make = {
        SVGChart.line([hourly("a", [1, 5, 2, 8]), hourly("b", [3, 1, 4, 1])], bucket: .hour, yFormat: .usd, label: "cost")
            + SVGChart.bars([(label: "a", value: 1), (label: "b", value: 2)], format: .number, label: "b")
            + SVGChart.histogram(values: [1, 2, 3, 50, 120], binCount: 5, xFormat: .milliseconds, label: "h")
            + SVGChart.sparkline([1, 3, 2], label: "s")
    }
    let first = make()
    #expect(first == make())
    #expect(!first.contains(" id="))
}

// MARK: - Bars

@Test func barsOnePerItemWithFormattedTitles() throws {
    let items: [(label: String, value: Double)] = [("gpt-4o", 12.3), ("claude-3-5-sonnet-20241022", 7.7), ("mistral", 0), ("weird", -1)]
    let svg = SVGChart.bars(items, format: .usd, width: 320, label: "Cost by model")
    let doc = try parsed(svg)
    #expect(doc.count("rect", class: "bar") == 4)
    #expect(doc.count("g", class: "row") == 4)
    #expect(doc.titles[0] == "gpt-4o · $12.30")
    #expect(doc.texts.contains("$12.30") && doc.texts.contains("$7.70"))
    let widths = doc.elements.filter { $0.classes.contains("bar") }.compactMap { Double($0.attributes["width"] ?? "") }
    #expect(widths.count == 4 && widths[0] > widths[1] && widths[2] == 0 && widths[3] == 0)
    #expect(try #require(doc.root?.attributes["height"]) == "92")

    let shares = try parsed(SVGChart.bars([("a", 3), ("b", 1)], format: .integer, unit: "requests", label: "x"))
    #expect(shares.titles == ["a · 3 requests (75%)", "b · 1 requests (25%)"])
    let zeros = try parsed(SVGChart.bars([("a", 0), ("b", 0)], format: .integer, label: "zeros"))
    #expect(zeros.count("rect", class: "bar") == 2)
}

// MARK: - Histogram

@Test func histogramFromBinsHasOneBarPerBin() throws {
    let bins: [(lower: Double, upper: Double, count: Int)] = [(0, 100, 5), (100, 200, 42), (200, 300, 17), (300, 400, 0), (400, 500, 1)]
    let doc = try parsed(SVGChart.histogram(bins: bins, xFormat: .milliseconds, unit: "requests", width: 640, label: "Latency"))
    #expect(doc.count("g", class: "bin") == 5)
    #expect(doc.count("rect", class: "bar") == 5)
    #expect(doc.titles.contains("100 ms – 200 ms · 42 requests (64.6%)"))
    #expect(doc.texts.contains("0 ms") && doc.texts.contains("500 ms"))
    #expect(doc.texts.contains("40"))  // count axis
}

@Test func histogramWithUnevenBinsLabelsBoundaries() throws {
    let edges: [Double] = [0, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
    let bins = zip(edges, edges.dropFirst()).enumerated().map { (lower: $1.0, upper: $1.1, count: $0 * 3) }
    let doc = try parsed(SVGChart.histogram(bins: bins, xFormat: .milliseconds, width: 640, label: "Latency"))
    #expect(doc.count("rect", class: "bar") == 11)
    let widths = Set(doc.elements.filter { $0.classes.contains("bar") }.compactMap { $0.attributes["width"] })
    #expect(widths.count == 1)  // equally wide
    #expect(doc.texts.contains("0 ms") && doc.texts.contains("10 s"))
    #expect(doc.titles.contains("2.5 s – 5 s · 27 (16.4%)"))
}

@Test func histogramBinsFromValues() throws {
    let values = (0..<100).map(Double.init) + [.nan, .infinity]
    let bins = SVGChart.histogramBins(values: values, binCount: 10)
    #expect(bins.count == 10)
    #expect(bins.map(\.lower) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    #expect(bins.allSatisfy { $0.count == 10 })
    // the maximum lands in the last bin
    let closed = SVGChart.histogramBins(values: [0, 0.5, 1], binCount: 2)
    #expect(closed.map(\.lower) == [0, 0.5] && closed.map(\.count) == [1, 2])
    // all equal
    let same = SVGChart.histogramBins(values: [7, 7, 7], binCount: 10)
    #expect(same.count == 1 && same[0].count == 3 && same[0].lower <= 7 && same[0].upper > 7)
    // negative values
    let negative = SVGChart.histogramBins(values: [-3, -1, 2], binCount: 5)
    #expect(negative.reduce(0) { $0 + $1.count } == 3 && negative[0].lower <= -3)

    let doc = try parsed(SVGChart.histogram(values: values, binCount: 10, xFormat: .milliseconds, label: "Latency"))
    #expect(doc.count("rect", class: "bar") == 10)
    #expect(doc.titles.first == "0 ms – 10 ms · 10 (10%)")
    let zeros = try parsed(SVGChart.histogram(bins: [(0, 1, 0), (1, 2, 0)], xFormat: .number, label: "zeros"))
    #expect(zeros.count("rect", class: "bar") == 2)
}

// MARK: - Sparkline

@Test func sparklineIsTinyAndSummarised() throws {
    let doc = try parsed(SVGChart.sparkline([3, 5, .nan, 2, 8, 1234], format: .number, label: "Requests"))
    let root = try #require(doc.root)
    #expect(root.attributes["width"] == "96" && root.attributes["height"] == "24")
    #expect(root.classes.contains("tern-sparkline"))
    #expect(doc.titles == ["Requests · last 1,234 · min 2 · max 1,234"])
    #expect(doc.count("path", class: "line") == 2)  // NaN splits the line
    #expect(doc.count("circle", class: "last") == 1)
    _ = try parsed(SVGChart.sparkline([0, 0, 0], label: "flat"))
    _ = try parsed(SVGChart.sparkline([5], label: "one"))
}

// MARK: - Stylesheet

@Test func stylesheetDefinesThemeVariablesAndSeriesClasses() {
    let css = ChartStyles.css
    for i in 1...8 { #expect(css.contains("--chart-\(i):")) }
    for i in 0..<8 { #expect(css.contains(".series-\(i) { color: var(--chart-\(i + 1)); }")) }
    #expect(css.contains("--chart-grid:") && css.contains("--chart-text:"))
    #expect(css.contains("@media (prefers-color-scheme: dark)"))
    #expect(css.components(separatedBy: "{").count == css.components(separatedBy: "}").count)
}
