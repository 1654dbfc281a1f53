import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether an HTTP base URL's host accepts TCP connections: a plain connect with a short timeout, so
/// a command can say at once that nothing listens there, instead of waiting for an HTTP client's own
/// connect retries and timeouts (which took 32 s in silence for a refused port).
public enum Reachability {
    /// Nil when something accepts connections at the URL's host and port; else why not ("connection
    /// refused", "timed out after 2 s", "cannot resolve host ...").
    public static func problem(_ baseURL: String, timeout: Double = 2) async -> String? {
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return await Task.detached { attempt(host: host, port: port, timeout: timeout) }.value
    }

    static func attempt(host: String, port: Int, timeout: Double) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return "cannot resolve host \(host)" }
        defer { freeaddrinfo(list) }
        var last = "connection refused"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            let flags = fcntl(fd, F_GETFL, 0)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else {
                last = String(cString: strerror(errno)).lowercased()
                continue
            }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, timeout * 1000)))
            guard ready > 0 else {
                last = "timed out after \(Int(timeout)) s"
                continue
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return nil }
            last = String(cString: strerror(error)).lowercased()
        }
        return last
    }
}
