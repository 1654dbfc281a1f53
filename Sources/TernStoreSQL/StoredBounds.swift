import Foundation
import TernCore

/// Brings rows stored before `InputBounds` existed into its ranges (migration 0012 on both backends), so
/// that no stored value can make a later read overflow or produce a number JSON cannot carry: token
/// counts above the bound or below zero, costs that are negative, non-finite or above the bound, and
/// numeric scores beyond ±`InputBounds.maxScore`. Clamped rows' hours are marked for recomputation.
public enum StoredBounds {
    public static func statements(_ dialect: SQLDialect) -> [String] {
        let tokens = InputBounds.maxTokens
        let cost = "\(Int(InputBounds.maxCost)).0"
        let score = "\(Int64(InputBounds.maxScore)).0"
        // PostgreSQL: LEAST/GREATEST; SQLite's two-argument MIN/MAX are scalar functions. NaN (PostgreSQL
        // only: SQLite stores NaN as NULL) becomes NULL.
        let least = dialect == .postgres ? "LEAST" : "MIN"
        let greatest = dialect == .postgres ? "GREATEST" : "MAX"
        func clampInt(_ table: String, _ column: String, _ max: String) -> String {
            "UPDATE \(table) SET \(column) = \(least)(\(greatest)(\(column), 0), \(max)) WHERE \(column) < 0 OR \(column) > \(max)"
        }
        func clampReal(_ table: String, _ column: String, low: String, high: String) -> [String] {
            var out: [String] = []
            if dialect == .postgres { out.append("UPDATE \(table) SET \(column) = NULL WHERE \(column) = 'NaN'::double precision") }
            out.append("UPDATE \(table) SET \(column) = \(least)(\(greatest)(\(column), \(low)), \(high)) WHERE \(column) < \(low) OR \(column) > \(high)")
            return out
        }
        let hour = TraceSQL.hourOfStart
        let conflict = "ON CONFLICT (project_id, bucket) DO NOTHING"
        var out: [String] = [
            // Hours of traces about to be clamped are recomputed by the monitoring job.
            """
            INSERT INTO rollup_dirty (project_id, bucket, marked_at)
            SELECT DISTINCT project_id, \(hour), 0 FROM traces
            WHERE input_tokens > \(tokens)000000 OR output_tokens > \(tokens)000000 OR input_tokens < 0 OR output_tokens < 0
               OR total_cost > \(cost) * 1000000 OR total_cost < 0
            \(conflict)
            """
        ]
        for column in ["usage_input", "usage_output", "usage_cached", "usage_reasoning"] {
            out.append(clampInt("observations", column, String(tokens)))
        }
        out += clampReal("observations", "cost", low: "0.0", high: cost)
        // A trace's totals add up its observations: a million observations at the bound.
        out.append(clampInt("traces", "input_tokens", "\(tokens)000000"))
        out.append(clampInt("traces", "output_tokens", "\(tokens)000000"))
        out += clampReal("traces", "total_cost", low: "0.0", high: "\(cost) * 1000000")
        out += clampReal("scores", "numeric_value", low: "-\(score)", high: score)
        for column in ["input_tokens", "output_tokens"] { out.append(clampInt("trace_rollups", column, "\(tokens)000000000")) }
        out += clampReal("trace_rollups", "cost", low: "0.0", high: "\(cost) * 1000000000")
        return out
    }
}
