// The web UI's templates, stylesheets and scripts are real files: `Templates/*.mustache` (one per page or
// partial, named as pages render them) and `Assets/*.css|*.js`. SwiftPM embeds them in the binary
// (`.embedInCode` in Package.swift: the generated `PackageResources`), so `tern` stays one file to install.
// A new template is registered below; TernWebTests fails when a file of the folder is not.

/// The UI's mustache templates by name. `{{x}}` escapes HTML; `{{{x}}}` is used only for markup Tern
/// builds itself (SVG charts, whose text is escaped when they are drawn).
enum Templates {
    static let all: [String: String] = [
        "add-to-dataset": text(PackageResources.add_to_dataset_mustache),
        "dashboard": text(PackageResources.dashboard_mustache),
        "dataset": text(PackageResources.dataset_mustache),
        "dataset-header": text(PackageResources.dataset_header_mustache),
        "dataset-import": text(PackageResources.dataset_import_mustache),
        "dataset-item": text(PackageResources.dataset_item_mustache),
        "dataset-stats": text(PackageResources.dataset_stats_mustache),
        "datasets": text(PackageResources.datasets_mustache),
        "experiment": text(PackageResources.experiment_mustache),
        "experiment-compare": text(PackageResources.experiment_compare_mustache),
        "experiment-new": text(PackageResources.experiment_new_mustache),
        "experiment-pair": text(PackageResources.experiment_pair_mustache),
        "experiments": text(PackageResources.experiments_mustache),
        "field-error": text(PackageResources.field_error_mustache),
        "first-trace": text(PackageResources.first_trace_mustache),
        "internal-toggle": text(PackageResources.internal_toggle_mustache),
        "layout": text(PackageResources.layout_mustache),
        "login": text(PackageResources.login_mustache),
        "message": text(PackageResources.message_mustache),
        "monitoring-alert": text(PackageResources.monitoring_alert_mustache),
        "monitoring-alerts": text(PackageResources.monitoring_alerts_mustache),
        "monitoring-drift": text(PackageResources.monitoring_drift_mustache),
        "monitoring-gaps": text(PackageResources.monitoring_gaps_mustache),
        "monitoring-topics": text(PackageResources.monitoring_topics_mustache),
        "monitoring-probes": text(PackageResources.monitoring_probes_mustache),
        "monitoring-tabs": text(PackageResources.monitoring_tabs_mustache),
        "monitoring-watcher": text(PackageResources.monitoring_watcher_mustache),
        "monitoring-watchers": text(PackageResources.monitoring_watchers_mustache),
        "observation": text(PackageResources.observation_mustache),
        "playground": text(PackageResources.playground_mustache),
        "prompt": text(PackageResources.prompt_mustache),
        "prompt-diff": text(PackageResources.prompt_diff_mustache),
        "prompt-edit": text(PackageResources.prompt_edit_mustache),
        "prompt-header": text(PackageResources.prompt_header_mustache),
        "prompt-version": text(PackageResources.prompt_version_mustache),
        "prompts": text(PackageResources.prompts_mustache),
        "session": text(PackageResources.session_mustache),
        "settings-keys": text(PackageResources.settings_keys_mustache),
        "settings-members": text(PackageResources.settings_members_mustache),
        "settings-models": text(PackageResources.settings_models_mustache),
        "settings-tabs": text(PackageResources.settings_tabs_mustache),
        "sessions": text(PackageResources.sessions_mustache),
        "trace": text(PackageResources.trace_mustache),
        "traces": text(PackageResources.traces_mustache),
        "users": text(PackageResources.users_mustache),
    ]

    /// A file's text, without the one line break that ends the file.
    static func text(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}

/// The UI's stylesheet and script, served from memory (`/ui/static/tern.css`, `/ui/static/tern.js`).
public enum WebAssets {
    /// Every stylesheet of the UI, in the order they apply: the base, the charts', the prompt and dataset
    /// pages', the experiment pages', the forms'.
    public static let stylesheet = [
        css, ChartStyles.css, Templates.text(PackageResources.library_css),
        Templates.text(PackageResources.experiments_css), Templates.text(PackageResources.editor_css),
    ].joined(separator: "\n")
    /// Every script of the UI: the base, the prompt and dataset pages', the forms' (without it every form
    /// still works).
    public static let script = [
        Templates.text(PackageResources.tern_js), Templates.text(PackageResources.library_js),
        Templates.text(PackageResources.editor_js),
    ].joined(separator: "\n")
    /// The base stylesheet.
    public static let css = Templates.text(PackageResources.tern_css)
}

/// Stylesheet of the SVG charts (`Assets/charts.css`; also inlined by `tern eval`'s HTML report). Colours live in
/// CSS custom properties so light/dark themes only swap variables: `--chart-1` … `--chart-8` (series),
/// `--chart-grid`, `--chart-axis`, `--chart-text`, `--chart-bg`. Dark values apply under
/// `prefers-color-scheme: dark` (unless `data-theme="light"` is set on the root) and anywhere inside an
/// element with `data-theme="dark"`.
public enum ChartStyles {
    public static let css = Templates.text(PackageResources.charts_css)
}
