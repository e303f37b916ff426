#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension FixedWidthCore {
    @usableFromInline
    mutating func next() throws(FileRefusal) -> ReadItem? {
        if finished { return nil }
        while true {
            if !haveCurrent {
                switch try readLine() {
                case .end:
                    if let pt = pendingType {
                        pendingType = nil
                        dataCount += 1
                        return missingContinuation(pt)
                    }
                    finished = true
                    try checkTotals()
                    return nil
                case .blank:
                    if layout.blankLines == .report {
                        return issue(current, .blankRow, "the line is blank")
                    }
                    continue
                case .line:
                    haveCurrent = true
                }
            }
            let type = current.tooLong || current.badByte != nil ? nil : typeIndex(of: current)
            let lengthOK: Bool = {
                guard let l = layout.lineLength, !current.tooLong else { return true }
                return current.charCount == l || (!layout.strictLength && current.charCount < l)
            }()

            // A flagged line waits for its continuation.
            if let pt = pendingType {
                let c = types[pt].continuation!
                if let t = type, t == c.typeIndex, lengthOK,
                    c.match.allSatisfy({ fieldBytes(pending, types[pt].fields[$0.0]) == fieldBytes(current, types[t].fields[$0.1]) })
                {
                    pendingType = nil
                    haveCurrent = false
                    let r = makeCombined(first: pending, firstType: pt, second: current, secondType: t)
                    dataCount += 1
                    addToSum(r, type: pt)
                    return .record(r)
                }
                pendingType = nil
                dataCount += 1
                // The current line is processed on the next call.
                return missingContinuation(pt)
            }
            haveCurrent = false

            if current.tooLong {
                dataCount += 1
                return issue(
                    current, .recordTooLong,
                    "the line is longer than the limit of \(maxRecordBytes) bytes; it was skipped")
            }
            let guessedType = type ?? (current.badByte != nil ? typeIndex(of: current) : nil)
            if expectHeader && !processedAny && (guessedType == nil || types[guessedType!].role != .header) {
                throw FileRefusal(
                    code: .missingHeader, line: current.line,
                    message: "the first line is not a header record")
            }
            processedAny = true
            if let bad = current.badByte {
                if countsAsData(guessedType) { dataCount += 1 }
                let what =
                    layout.encoding == .utf8
                    ? "bytes that are not valid UTF-8"
                    : "a byte that is undefined in \(layout.encoding.rawValue)"
                return .issue(
                    RowIssue(
                        line: current.line, byteOffset: current.offset + bad, field: nil,
                        column: current.badColumn, code: .encodingError,
                        message: "the line has \(what) at byte offset \(current.offset + bad) (column \(current.badColumn))",
                        text: String(decoding: current.text, as: UTF8.self)))
            }
            if !lengthOK {
                if countsAsData(type) { dataCount += 1 }
                return issue(
                    current, .lineLengthError,
                    "the line has \(current.charCount) characters; the layout expects \(layout.lineLength!)")
            }
            guard let t = type else {
                dataCount += 1
                let code = codeText(of: current)
                return issue(current, .unknownRecordType, "line \(current.line) has the unknown record type code '\(code)'")
            }
            switch types[t].role {
            case .header:
                if headerRecord == nil {
                    headerRecord = makeRecord(current, type: t)
                    continue
                }
                return issue(current, .misplacedRecord, "a second header record")
            case .trailer:
                trailerRecord = makeRecord(current, type: t)
                continue
            case .continuation:
                return issue(
                    current, .orphanContinuation,
                    "a continuation line (type '\(types[t].code)') that follows no flagged line for the same record")
            case .data:
                if let c = types[t].continuation, flagged(current, c) {
                    swap(&pending, &current)
                    pendingType = t
                    continue
                }
                let r = makeRecord(current, type: t)
                dataCount += 1
                addToSum(r, type: t)
                return .record(r)
            }
        }
    }

    func missingContinuation(_ pt: Int) -> ReadItem {
        let c = types[pt].continuation!
        return .issue(
            RowIssue(
                line: pending.line, byteOffset: pending.offset, field: nil, column: c.flagFirst + 1,
                code: .missingContinuation,
                message: "the line announces a continuation line (type '\(types[c.typeIndex].code)') that does not follow it",
                text: String(decoding: pending.text, as: UTF8.self)))
    }

    mutating func checkTotals() throws(FileRefusal) {
        guard hasTrailerType else { return }
        guard let tr = trailerRecord else {
            throw FileRefusal(code: .missingTrailer, line: nil, message: "the file has no trailer record")
        }
        guard let ci = countIndex else { return }
        guard let declared = tr.withBytes(ci, { parseCount(trimmed($0)) }) else {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer's record count is not a whole number")
        }
        if declared != dataCount {
            throw FileRefusal(
                code: .controlTotalMismatch, line: tr.line,
                message: "the trailer declares \(declared) data records but the file has \(dataCount)")
        }
        if let si = sumIndex {
            guard let declaredSum = tr.withBytes(si, { ControlSum.parse(trimmed($0)) }) else {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer's control sum is not a number")
            }
            if sum.overflow || declaredSum != sum.scaled {
                throw FileRefusal(
                    code: .controlTotalMismatch, line: tr.line,
                    message: "the trailer declares a control sum of \(ControlSum.format(declaredSum)) but the data sums to \(sum)")
            }
        }
    }
}
