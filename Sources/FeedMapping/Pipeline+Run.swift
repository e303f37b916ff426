import DQTModel
import Dispatch
import FlatFile
import Foundation
import Synchronization

extension Pipeline {
    /// - Parameter headerLine: the header's physical line (after any preamble), for refusals about the header.
    func run<Builder: RowBuilder, Reader: RecordReader, Sink: CheckSink>(
        _ builder: Builder, reader: inout Reader, headerLine: Int?, fieldCounts: [Int]?, result: inout CheckResult, sink: inout Sink
    ) throws {
        let header = reader.header
        let wantsCalls = sink.wantsCalls
        let sha256 = attachmentSHA256 ?? result.sha256
        func plan() throws -> Plan<Builder> {
            try makePlan(builder: builder, header: header, headerLine: headerLine, fieldCounts: fieldCounts, wantsCalls: wantsCalls, sha256: sha256)
        }
        let mergePlan = try plan()
        let threads = max(2, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let plans = try (0..<threads).map { _ in try plan() }
        if result.fields.isEmpty { result.fields = feed.fields.map(FieldProfile.init(spec:)) }

        // Unsafe storage: every thread works on its own element; the round's end is the synchronisation point.
        let counters = UnsafeMutableBufferPointer<WorkerCounters>.allocate(capacity: threads)
        for thread in 0..<threads {
            (counters.baseAddress! + thread).initialize(to: WorkerCounters(fields: feed.fields.count, slots: feed.slotNames.count))
        }
        let batches = UnsafeMutableBufferPointer<RecordBatch>.allocate(capacity: 3)
        _ = batches.initialize(from: repeatElement(RecordBatch(), count: 3))
        let outcomes = UnsafeMutableBufferPointer<RowOutcome>.allocate(capacity: 3 * Self.batchSize)
        outcomes.initialize(repeating: RowOutcome())
        defer {
            for counter in counters { counter.finish(into: &result.fields) }
            counters.deinitialize().deallocate()
            batches.deinitialize().deallocate()
            outcomes.deinitialize().deallocate()
        }

        var merger = Merger()
        var processing: Int?
        var merging: Int?
        var reading = true
        var readFailure: FileRefusal?
        while reading || processing != nil || merging != nil {
            let readSlot = reading ? (0..<3).first { $0 != processing && $0 != merging } : nil
            var read: Result<Bool, FileRefusal> = .success(false)
            var merged: Result<Void, any Error> = .success(())
            withUnsafeMutablePointer(to: &reader) { reader in
                withUnsafeMutablePointer(to: &sink) { sink in
                    withUnsafeMutablePointer(to: &result) { result in
                        withUnsafeMutablePointer(to: &merger) { merger in
                            withUnsafeMutablePointer(to: &read) { read in
                                withUnsafeMutablePointer(to: &merged) { merged in
                                    nonisolated(unsafe) let (reader, sink, result, merger, read, merged) = (
                                        reader, sink, result, merger, read, merged
                                    )
                                    nonisolated(unsafe) let (counters, batches, outcomes) = (counters, batches, outcomes)
                                    let (processing, merging) = (processing, merging)
                                    // Tasks in the order threads take them: the read, the merge, then the batch's chunks. A
                                    // thread that arrives late finds chunks left, whichever thread took the read and merge.
                                    let chunks = processing.map { (batches[$0].count + Self.chunkSize - 1) / Self.chunkSize } ?? 0
                                    let nextTask = Atomic<Int>(0)
                                    DispatchQueue.concurrentPerform(iterations: threads) { thread in
                                        let plan = plans[thread]
                                        while true {
                                            let task = nextTask.add(1, ordering: .relaxed).oldValue
                                            if task == 0, let slot = readSlot {
                                                batches[slot].removeAll()
                                                do throws(FileRefusal) {
                                                    read.pointee = .success(
                                                        try reader.pointee.read(
                                                            into: &batches[slot], maxItems: Self.batchSize, maxBytes: Self.batchBytes))
                                                } catch {
                                                    read.pointee = .failure(error)
                                                }
                                            } else if task == 1, let slot = merging {
                                                do {
                                                    try batches[slot].withView { view in
                                                        try merge(
                                                            view, outcomes: outcomes.baseAddress! + slot * Self.batchSize, plan: mergePlan,
                                                            merger: &merger.pointee, result: &result.pointee, sink: &sink.pointee)
                                                    }
                                                } catch {
                                                    merged.pointee = .failure(error)
                                                }
                                            } else if task >= 2, task - 2 < chunks, let slot = processing {
                                                batches[slot].withView { view in
                                                    let out = outcomes.baseAddress! + slot * Self.batchSize
                                                    let start = (task - 2) * Self.chunkSize
                                                    for index in start..<min(view.count, start + Self.chunkSize) {
                                                        guard let record = view.record(index) else { continue }
                                                        out[index] = plan.process(
                                                            record, typeCode: view.typeCode(record), counters: &counters[thread])
                                                    }
                                                }
                                            } else if task >= 2 {
                                                return
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            try merged.get()
            merging = processing
            processing = nil
            if let readSlot {
                switch read {
                case .success(true): processing = readSlot
                case .success(false): reading = false
                case .failure(let refusal): (reading, readFailure) = (false, refusal)
                }
            }
        }
        // A refusal mid-file comes after every batch read before it was merged, as in a sequential run.
        if let readFailure { throw readFailure }
    }
}
