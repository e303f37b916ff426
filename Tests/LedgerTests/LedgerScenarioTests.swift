import Ledger
import Testing

/// Every scenario against every available store; the memory store must tell the same story as PostgreSQL.
@Suite("Ledger scenarios")
struct LedgerScenarioTests {
    @Test("Each store passes the scenario", arguments: LedgerScenario.allCases, LedgerKind.available)
    func scenario(_ scenario: LedgerScenario, on kind: LedgerKind) async throws {
        let transcript = try await kind.with { try await scenario.play($0) }
        #expect(!transcript.isEmpty)
    }

    @Test(
        "MemoryLedger and PostgresLedger observe the same things", .enabled(if: LedgerKind.available.contains(.postgres)),
        arguments: LedgerScenario.allCases)
    func sameAsPostgres(_ scenario: LedgerScenario) async throws {
        let memory = try await LedgerKind.memory.with { try await scenario.play($0) }
        let postgres = try await LedgerKind.postgres.with { try await scenario.play($0) }
        #expect(memory.count == postgres.count)
        for (index, (fromMemory, fromPostgres)) in zip(memory, postgres).enumerated() {
            #expect(fromMemory == fromPostgres, "line \(index)")
        }
    }
}
