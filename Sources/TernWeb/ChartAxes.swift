// Axis maths and value/time formatting for the SVG charts in Charts.swift.
// Everything here is locale-independent and deterministic (UTC, ASCII digits, "," grouping).
import Foundation

/// How a chart renders values on axes, in hover titles and in bar labels.
public enum ValueFormat: Sendable, Hashable {
    /// Compact: `950`, `1.2k`, `3.4M`, `0.0012`.
    case number
    /// Rounded and grouped: `1,234`.
    case integer
    /// Input in milliseconds: `0.25 ms`, `62.5 ms`, `250 ms`, `1.23 s`, `75.4 s`.
    case milliseconds
    /// Input in US dollars: `$0.0012`, `$0.50`, `$12.30`, `$1,234.50`.
    case usd
    /// Input is a fraction: `0.123` → `12.3%`.
    case percent

    /// Formats a single value for display (bar values, hover titles).
    public func format(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        if v < 0 {
            let positive = format(-v)
            return positive == format(0) ? positive : "-" + positive
        }
        switch self {
        case .number:
            return Fmt.compact(v)
        case .integer:
            return Fmt.fixed(v, decimals: 0, grouping: true)
        case .milliseconds:
            if v == 0 { return "0 ms" }
            if v < 1 { return Fmt.fixed(v, decimals: Fmt.significantDecimals(v, digits: 2), trim: true) + " ms" }
            if v < 99.95 { return Fmt.fixed(v, decimals: 1, trim: true) + " ms" }
            if v < 999.5 { return Fmt.fixed(v, decimals: 0) + " ms" }
            let s = v / 1000
            if s < 9.995 { return Fmt.fixed(s, decimals: 2, trim: true) + " s" }
            if s < 999.5 { return Fmt.fixed(s, decimals: 1, trim: true) + " s" }
            return Fmt.fixed(s, decimals: 0, grouping: true) + " s"
        case .usd:
            if v == 0 { return "$0" }
            if v >= 1 { return "$" + Fmt.fixed(v, decimals: 2, grouping: true) }
            let decimals = max(2, Fmt.significantDecimals(v, digits: 2))
            var s = Fmt.fixed(v, decimals: min(decimals, 8))
            // keep at least two decimals ("$0.50"), drop zeros beyond that ("$0.001")
            while s.hasSuffix("0"), let dot = s.firstIndex(of: "."), s.distance(from: dot, to: s.endIndex) > 3 {
                s.removeLast()
            }
            return "$" + s
        case .percent:
            let p = v * 100
            if p == 0 { return "0%" }
            if p < 1 { return Fmt.fixed(p, decimals: min(6, Fmt.significantDecimals(p, digits: 2)), trim: true) + "%" }
            return Fmt.fixed(p, decimals: 1, trim: true, grouping: true) + "%"
        }
    }

    /// Like `format` but never abbreviates (used in hover titles): `.number` 12345 → `12,345`.
    func precise(_ v: Double) -> String {
        guard self == .number, v.isFinite, abs(v) >= 1000 else { return format(v) }
        return (v < 0 ? "-" : "") + Fmt.fixed(abs(v), decimals: 2, trim: true, grouping: true)
    }
}

/// Width of the buckets a time series was aggregated into; picks x-axis label style.
public enum TimeBucket: String, Sendable, Hashable, CaseIterable {
    case minute, hour, day, week, month

    /// Nominal bucket length in seconds (a month counts as 30 days).
    public var seconds: Double {
        switch self {
        case .minute: 60
        case .hour: 3600
        case .day: 86400
        case .week: 604_800
        case .month: 2_592_000
        }
    }

    /// Short axis label in UTC: minute `14:05`, hour `14:00`, day/week `Nov 28`, month `Nov 2026`.
    public func label(_ unixSeconds: Double) -> String {
        let t = UTCTime(unixSeconds)
        switch self {
        case .minute, .hour: return t.hhmm
        case .day, .week: return t.monthDay
        case .month: return t.monthYear
        }
    }

    /// Longer label for hover titles: `Nov 28 14:05`, `Nov 28, 2026`, `Week of Nov 23, 2026`, `Nov 2026`.
    public func detailLabel(_ unixSeconds: Double) -> String {
        let t = UTCTime(unixSeconds)
        switch self {
        case .minute, .hour: return "\(t.monthDay) \(t.hhmm)"
        case .day: return "\(t.monthDay), \(t.year)"
        case .week: return "Week of \(t.monthDay), \(t.year)"
        case .month: return t.monthYear
        }
    }
}

/// Tick computation for chart axes.
public enum ChartAxis {
    /// The smallest 1/2/5 × 10ⁿ step that is ≥ `roughStep`.
    public static func niceStep(_ roughStep: Double) -> Double {
        guard roughStep.isFinite, roughStep > 0 else { return 1 }
        let exponent = (log10(roughStep)).rounded(.down)
        let magnitude = pow(10, exponent)
        let fraction = roughStep / magnitude
        let nice: Double = fraction <= 1.000001 ? 1 : fraction <= 2.000001 ? 2 : fraction <= 5.000001 ? 5 : 10
        return nice * magnitude
    }

    /// "Nice" ticks covering `min...max` with at most `intervals` steps (1/2/5 × 10ⁿ).
    /// The first tick is ≤ min and the last ≥ max: `0...0.87` → `0, 0.2, 0.4, 0.6, 0.8, 1`.
    /// A degenerate range is widened to include zero (or `0...1` when everything is zero).
    /// `integer: true` keeps steps ≥ 1 (counts).
    public static func niceTicks(min lo: Double, max hi: Double, intervals: Int = 5, integer: Bool = false) -> [Double] {
        var lo = lo.isFinite ? lo : 0, hi = hi.isFinite ? hi : 0
        if lo > hi { swap(&lo, &hi) }
        if lo == hi {
            lo = Swift.min(0, lo); hi = Swift.max(0, hi)
            if lo == hi { hi = 1 }
        }
        let span = hi - lo
        guard span.isFinite else { return [lo, hi] }
        var step = niceStep(span / Double(Swift.max(1, intervals)))
        if integer { step = Swift.max(1, step) }
        let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
        guard first.isFinite, last.isFinite, last - first <= 1000 else { return [lo, hi] }
        let decimals = Swift.max(0, -Int((log10(step)).rounded(.down)))
        var ticks: [Double] = []
        var k = first
        while k <= last {
            ticks.append(clean(k * step, decimals: decimals))
            k += 1
        }
        return ticks
    }

    /// Labels for a set of evenly spaced ticks, sharing one unit and precision across the axis
    /// (`0 s, 0.5 s, 1 s` rather than `0 ms, 500 ms, 1 s`; `1k, 1.2k, 1.4k`).
    public static func labels(for ticks: [Double], format: ValueFormat) -> [String] {
        guard !ticks.isEmpty else { return [] }
        let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : 0
        let largest = ticks.map { abs($0) }.max() ?? 0
        func decimals(_ scaledStep: Double) -> Int {
            guard scaledStep > 0, scaledStep.isFinite else { return 0 }
            return Swift.min(8, Swift.max(0, -Int((log10(scaledStep) + 1e-9).rounded(.down))))
        }
        func signed(_ v: Double, _ body: (Double) -> String) -> String {
            let s = body(abs(v))
            return v < 0 && s != body(0) ? "-" + s : s
        }
        switch format {
        case .number:
            let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]
            let (divisor, suffix) = units.first { largest >= $0.0 } ?? (1, "")
            let d = decimals(step / divisor)
            return ticks.map { t in signed(t) { Fmt.fixed($0 / divisor, decimals: d, trim: true) + ($0 == 0 ? "" : suffix) } }
        case .integer:
            return ticks.map { t in signed(t) { Fmt.fixed($0, decimals: 0, grouping: true) } }
        case .milliseconds:
            if largest >= 1000 {
                let d = decimals(step / 1000)
                return ticks.map { t in signed(t) { Fmt.fixed($0 / 1000, decimals: d, trim: true, grouping: true) + " s" } }
            }
            let d = decimals(step)
            return ticks.map { t in signed(t) { Fmt.fixed($0, decimals: d, trim: true) + " ms" } }
        case .usd:
            let d = step >= 1 || step == 0 ? 0 : Swift.max(2, decimals(step))
            return ticks.map { t in signed(t) { $0 == 0 ? "$0" : "$" + Fmt.fixed($0, decimals: d, grouping: true) } }
        case .percent:
            let d = decimals(step * 100)
            return ticks.map { t in signed(t) { Fmt.fixed($0 * 100, decimals: d, trim: true, grouping: true) + "%" } }
        }
    }

    /// Time ticks aligned to calendar boundaries in UTC (every 5 min, 3 h, day, Monday, month …),
    /// no finer than `bucket`, at most `maxTicks` of them, with labels suited to the step:
    /// `14:05`, `14:00` (a midnight tick shows the date, `Nov 28`), `Nov 28`, `Nov 2026`, `2026`.
    public static func timeTicks(from: Double, to: Double, bucket: TimeBucket, maxTicks: Int) -> [(value: Double, label: String)] {
        guard from.isFinite, to.isFinite, to >= from, abs(from) < 1e12, abs(to) < 1e12 else { return [] }
        let ladder = TimeStep.ladder
        let startIndex = ladder.firstIndex { $0.nominalSeconds >= bucket.seconds } ?? 0
        let limit = Swift.max(1, maxTicks)
        var chosen: (TimeStep, [Double]) = (ladder[ladder.count - 1], [])
        for step in ladder[startIndex...] {
            if (to - from) / step.nominalSeconds > Double(limit) * 1.5 + 2 { continue }
            let ticks = step.ticks(from: from, to: to)
            chosen = (step, ticks)
            if ticks.count <= limit { break }
        }
        let (step, ticks) = chosen
        return ticks.map { t in
            let u = UTCTime(t)
            let label: String
            switch step {
            case .seconds(let s) where s < 86400:
                label = u.secondOfDay == 0 ? u.monthDay : u.hhmm
            case .seconds:
                label = u.monthDay
            case .months(let m):
                label = m >= 12 ? String(u.year) : u.monthYear
            }
            return (t, label)
        }
    }

    static func clean(_ v: Double, decimals: Int) -> Double {
        guard decimals <= 15 else { return v }
        let scale = pow(10, Double(decimals))
        let r = (v * scale).rounded() / scale
        return r == 0 ? 0 : r  // no "-0"
    }
}

enum TimeStep {
    case seconds(Double)
    case months(Int)

    static let ladder: [TimeStep] = [
        .seconds(60), .seconds(120), .seconds(300), .seconds(600), .seconds(900), .seconds(1800),
        .seconds(3600), .seconds(7200), .seconds(10800), .seconds(21600), .seconds(43200),
        .seconds(86400), .seconds(172_800), .seconds(604_800), .seconds(1_209_600),
        .months(1), .months(2), .months(3), .months(6), .months(12), .months(24), .months(60), .months(120),
    ]

    var nominalSeconds: Double {
        switch self {
        case .seconds(let s): s
        case .months(let m): Double(m) * 2_629_746
        }
    }

    func ticks(from: Double, to: Double) -> [Double] {
        var out: [Double] = []
        switch self {
        case .seconds(let s):
            // weeks start on Monday: 1970-01-05 is day 4 of the epoch
            let offset: Double = s >= 604_800 ? 4 * 86400 : 0
            var t = ((from - offset) / s).rounded(.up) * s + offset
            while t <= to, out.count < 2000 { out.append(t); t += s }
        case .months(let m):
            let start = UTCTime(from)
            var index = start.year * 12 + (start.month - 1)
            if index % m != 0 { index += m - ((index % m) + m) % m }
            while out.count < 2000 {
                let t = Double(UTCTime.daysFromCivil(year: Int((Double(index) / 12).rounded(.down)), month: ((index % 12) + 12) % 12 + 1, day: 1)) * 86400
                if t > to { break }
                if t >= from { out.append(t) }
                index += m
            }
        }
        return out
    }
}

/// Calendar fields of a unix timestamp in UTC (proleptic Gregorian, Hinnant's civil-from-days).
struct UTCTime {
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    var year: Int, month: Int, day: Int, hour: Int, minute: Int, secondOfDay: Int

    init(_ unixSeconds: Double) {
        let t = unixSeconds.isFinite ? Swift.max(-1e12, Swift.min(1e12, unixSeconds)) : 0
        let days = Int((t / 86400).rounded(.down))
        let sod = Int((t - Double(days) * 86400).rounded(.down))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        secondOfDay = sod
        hour = sod / 3600
        minute = (sod % 3600) / 60
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    var hhmm: String { Fmt.pad2(hour) + ":" + Fmt.pad2(minute) }
    var monthDay: String { "\(Self.monthNames[month - 1]) \(day)" }
    var monthYear: String { "\(Self.monthNames[month - 1]) \(year)" }
}

/// Locale-independent number → text helpers.
enum Fmt {
    static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Decimals needed to show `digits` significant digits of `v` (> 0).
    static func significantDecimals(_ v: Double, digits: Int) -> Int {
        guard v > 0, v.isFinite else { return 0 }
        return max(0, digits - 1 - Int(log10(v).rounded(.down)))
    }

    /// Fixed-point text for a non-negative value. `trim` drops trailing fractional zeros.
    static func fixed(_ value: Double, decimals: Int, trim: Bool = false, grouping: Bool = false) -> String {
        guard value.isFinite else { return "–" }
        let negative = value < 0
        let v = abs(value)
        let d = max(0, min(decimals, 12))
        let scale = pow(10, Double(d))
        let scaled = (v * scale).rounded()
        guard scaled < 9e18 else { return (negative ? "-" : "") + "\(v)" }
        let n = UInt64(scaled), s = UInt64(scale)
        var intPart = String(n / s)
        if grouping, intPart.count > 3 {
            var grouped = ""
            for (i, ch) in intPart.enumerated() {
                if i > 0, (intPart.count - i) % 3 == 0 { grouped.append(",") }
                grouped.append(ch)
            }
            intPart = grouped
        }
        var out = intPart
        if d > 0 {
            var frac = String(n % s)
            frac = String(repeating: "0", count: d - frac.count) + frac
            if trim { while frac.hasSuffix("0") { frac.removeLast() } }
            if !frac.isEmpty { out += "." + frac }
        }
        if negative, out.contains(where: { $0 != "0" && $0 != "." && $0 != "," }) { out = "-" + out }
        return out
    }

    /// `950`, `12.5`, `0.0012`, `1.2k`, `12.3k`, `123k`, `3.4M`, `1.5B`.
    static func compact(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v < 999.5 {
            let d = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : min(8, significantDecimals(v, digits: 2))
            return fixed(v, decimals: d, trim: true)
        }
        let units: [(Double, String)] = [(1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")]
        var i = 0
        while i + 1 < units.count, v >= units[i + 1].0 * 0.99995 { i += 1 }
        while true {
            let scaled = v / units[i].0
            let text = fixed(scaled, decimals: scaled >= 99.95 ? 0 : 1, trim: true)
            if text == "1000", i + 1 < units.count { i += 1; continue }
            return text + units[i].1
        }
    }

    /// SVG coordinate: at most one decimal, no trailing ".0".
    static func coord(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let tenths = Int((max(-1e7, min(1e7, v)) * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let a = abs(tenths)
        return a % 10 == 0 ? sign + String(a / 10) : sign + String(a / 10) + "." + String(a % 10)
    }
}
