import Foundation
import Logging
import Synchronization
import TernCore
import TernServer

/// Logging for the executable: bootstrapped once at start, then set to the configured level and
/// format when a command has loaded its configuration.
public enum CLILogging {
    static let settings = Mutex(TernConfig.Log())
    static let bootstrapped = Mutex(false)

    /// Call once, first thing in `main`.
    public static func bootstrap() {
        let already = bootstrapped.withLock { done in
            defer { done = true }
            return done
        }
        guard !already else { return }
        LoggingSystem.bootstrap { label in DynamicLogHandler(label: label) }
    }

    /// A logger that follows the configured level and format, bootstrapped or not (tests run commands
    /// in process without bootstrapping).
    static func logger(label: String = "tern") -> Logger {
        Logger(label: label, factory: { label in DynamicLogHandler(label: label) })
    }

    static func configure(_ log: TernConfig.Log) {
        settings.withLock { $0 = log }
    }

    struct DynamicLogHandler: LogHandler {
        let label: String
        var metadata: Logger.Metadata = [:]
        var overrideLevel: Logger.Level?
        var logLevel: Logger.Level {
            get { overrideLevel ?? CLILogging.settings.withLock { $0.level } }
            set { overrideLevel = newValue }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let settings = CLILogging.settings.withLock { $0 }
            switch settings.format {
            case .json:
                var handler = JSONLogHandler(label: label, level: logLevel)
                handler.metadata = metadata
                handler.log(event: event)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = logLevel
                handler.metadata = metadata
                handler.log(event: event)
            }
        }
    }
}
