/// The fail points of the notice sender (see ``FailPoint`` for how a test arms or traces them), in the order a notice
/// passes them. The window each one opens is closed by the next pass: `submitting` recorded but nothing sent, sent
/// but not recorded (proved from the sent copy), recorded but not moved, moved but not marked sent.
public enum NoticeFailPoint: String, CaseIterable, Sendable {
    /// `submitting` is committed; the SMTP transaction has not started.
    case beforeSubmit = "notice-before-submit"
    /// The server answered 250 for the message; the ledger does not know yet.
    case submitted = "notice-submitted"
    /// `submitted` (reply, queue id) is committed; the entry is still in the outbox.
    case recorded = "notice-recorded"
    /// The entry is in `sent/`; the ledger does not know yet.
    case moved = "notice-moved"

    public func hit() { FailPoint.hit(rawValue) }
}
