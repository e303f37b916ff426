import CLibCurl
import Foundation

/// One libcurl easy handle, used by one thread at a time. libcurl keeps the handle's connection open between
/// transfers, so consecutive commands to the same server share one TLS session and login.
///
/// Invariant: every transfer requires TLS (implicit for `imaps://` and `smtps://`, STARTTLS for `imap://` and
/// `smtp://`, refused when the server does not offer it) and verifies the server's certificate and name; nothing turns
/// verification off.
final class CurlHandle {
    let handle: UnsafeMutableRawPointer
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    let endpoint: MailEndpoint
    /// libcurl's `CURLOPT_PROTOCOLS_STR`: the only protocols this handle may speak, whatever a URL says.
    private let protocols: String

    private static let globalInit: CURLcode = dqt_curl_global_init()

    init(endpoint: MailEndpoint, protocols: String = "imap,imaps") throws {
        guard Self.globalInit == CURLE_OK, let handle = curl_easy_init() else {
            throw MailTransportError(.fatal, "libcurl cannot be initialised")
        }
        self.handle = handle
        self.endpoint = endpoint
        self.protocols = protocols
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Runs one transfer to `url`: libcurl's own request for the URL (a whole message for `;UID=`), or `command`
    /// (`CURLOPT_CUSTOMREQUEST`). `received` gets the server's output chunk by chunk (a message's bytes, or the
    /// untagged response lines of a command), and may throw to abort the transfer with its error.
    func perform(url: String, command: String? = nil, received: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withoutActuallyEscaping(received) { received in
            try transfer(url: url, command: command, received: received)
        }
    }

    private func transfer(url: String, command: String?, received: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        try configure(url: url)
        if let command { try set(dqt_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, command), "CURLOPT_CUSTOMREQUEST") }

        let sink = ReceiveBox(received)
        try set(dqt_curl_set_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()), "CURLOPT_WRITEDATA")
        try set(
            dqt_curl_set_write_function(handle) { data, size, count, context in
                let box = Unmanaged<ReceiveBox>.fromOpaque(context!).takeUnretainedValue()
                let total = size * count
                do {
                    try box.body(UnsafeRawBufferPointer(start: data, count: total))
                    return total
                } catch {
                    box.error = error
                    return 0  // libcurl ends the transfer with CURLE_WRITE_ERROR
                }
            }, "CURLOPT_WRITEFUNCTION")

        let code = withExtendedLifetime(sink) { curl_easy_perform(handle) }
        if let error = sink.error { throw error }
        guard code == CURLE_OK else { throw failure(code) }
    }

    /// Resets the handle (keeping the open connection and TLS session) and sets what every transfer shares: the URL,
    /// the allowed protocols, TLS required and verified, the login when the endpoint has one, the timeouts.
    func configure(url: String) throws {
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        try set(dqt_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        try set(dqt_curl_set_string(handle, CURLOPT_URL, url), "CURLOPT_URL")
        try set(dqt_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, protocols), "CURLOPT_PROTOCOLS_STR")
        try set(dqt_curl_set_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)), "CURLOPT_USE_SSL")
        try set(dqt_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "CURLOPT_SSL_VERIFYPEER")
        try set(dqt_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "CURLOPT_SSL_VERIFYHOST")
        try set(dqt_curl_set_long(handle, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2)), "CURLOPT_SSLVERSION")
        if let caFile = endpoint.caFile { try set(dqt_curl_set_string(handle, CURLOPT_CAINFO, caFile), "CURLOPT_CAINFO") }
        if !endpoint.user.isEmpty {
            try set(dqt_curl_set_string(handle, CURLOPT_USERNAME, endpoint.user), "CURLOPT_USERNAME")
            try set(dqt_curl_set_string(handle, CURLOPT_PASSWORD, endpoint.password.value), "CURLOPT_PASSWORD")
        }
        try set(dqt_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(endpoint.connectTimeout * 1000)), "CURLOPT_CONNECTTIMEOUT_MS")
        // A transfer that moves less than 1 byte/s for the operation timeout is abandoned (a hung server).
        try set(dqt_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1), "CURLOPT_LOW_SPEED_LIMIT")
        try set(dqt_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, max(1, Int(endpoint.operationTimeout))), "CURLOPT_LOW_SPEED_TIME")
        try set(dqt_curl_set_long(handle, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL")
        try set(dqt_curl_set_long(handle, CURLOPT_TCP_NODELAY, 1), "CURLOPT_TCP_NODELAY")
    }

    func set(_ code: CURLcode, _ option: String) throws {
        guard code == CURLE_OK else {
            throw MailTransportError(.fatal, "libcurl refuses \(option): \(String(cString: curl_easy_strerror(code)))")
        }
    }

    /// libcurl's result as a ``MailTransportError``, with its detail (which never holds the password).
    func failure(_ code: CURLcode) -> MailTransportError {
        let detail = String(cString: errorBuffer)
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let message = "\(endpoint.redactedURL): \(reason) (libcurl \(code.rawValue))"
        switch code {
        case CURLE_LOGIN_DENIED where detail.hasPrefix("Select failed"):
            // libcurl reports a mailbox that cannot be selected (it does not exist) with the login's code.
            return MailTransportError(.notFound, message)
        case CURLE_LOGIN_DENIED, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_USE_SSL_FAILED,
            CURLE_SSL_CERTPROBLEM, CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_AUTH_ERROR:
            return MailTransportError(.fatal, message)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
            CURLE_GOT_NOTHING, CURLE_SSL_CONNECT_ERROR, CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY:
            return MailTransportError(.transient, message)
        case CURLE_REMOTE_FILE_NOT_FOUND:
            return MailTransportError(.notFound, message)
        case CURLE_QUOTE_ERROR:
            return MailTransportError(.refused, message)
        default:
            return MailTransportError(.failed, message)
        }
    }
}

/// The receiving closure of one transfer and the error it threw, reached from libcurl's write callback.
private final class ReceiveBox {
    let body: (UnsafeRawBufferPointer) throws -> Void
    var error: (any Error)?
    init(_ body: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.body = body }
}
