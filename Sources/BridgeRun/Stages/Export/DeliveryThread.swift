import Delivery
import Dispatch
import Foundation
import Ledger

/// Runs a ``Delivery``'s blocking calls on a dispatch thread, never on Swift's cooperative pool, and records the steps
/// it reports in the ledger as they happen (the thread waits for each ledger write).
enum DeliveryThread {
    static func deliver(_ delivery: any Delivery, localFile: String, export: ExportRow, ledger: any ExportLedger) async throws -> DeliveryReceipt {
        guard let size = export.size, let sha256 = export.sha256 else { throw ExportLedgerError.notWritten(id: export.id) }
        let id = export.id
        let name = export.fileName
        return try await run {
            try delivery.deliver(localFile: localFile, name: name, expectedSize: size, expectedSHA256: sha256) { step in
                let progress: ExportProgress = step == .uploaded ? .uploaded : .verified
                try wait { _ = try await ledger.markProgress(id: id, progress) }
                (step == .uploaded ? ExportFailPoint.uploadedRecorded : ExportFailPoint.verifiedRecorded).hit()
            }
        }
    }

    static func isDelivered(_ delivery: any Delivery, export: ExportRow) async throws -> Bool {
        guard let size = export.size, let sha256 = export.sha256 else { return false }
        let name = export.fileName
        return try await run { try delivery.isDelivered(name: name, size: size, sha256: sha256) }
    }

    private static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Blocks this dispatch thread until `body` has run on the concurrency pool.
    private static func wait(_ body: @escaping @Sendable () async throws -> Void) throws {
        let outcome = Outcome()
        Task {
            do { try await body() } catch { outcome.error = error }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let error = outcome.error { throw error }
    }

    private final class Outcome: @unchecked Sendable {
        // @unchecked: `error` is written before `done` is signalled and read only after waiting for it.
        let done = DispatchSemaphore(value: 0)
        var error: (any Error)?
    }
}
