import DQTModel
import Dispatch
import FlatFile
import Foundation
import Synchronization

extension Pipeline {
    func makePlan<Builder: RowBuilder>(
        builder: Builder, header: [String]?, headerLine: Int?, fieldCounts: [Int]?, wantsCalls: Bool, sha256: String
    ) throws -> Plan<Builder> {
        let slotByName = Dictionary(uniqueKeysWithValues: feed.slotNames.enumerated().map { ($1, $0) })
        var bound: [String: [BoundField]] = [:]
        var tables = FieldTables()
        let checks = feed.fields.map { tables.compile($0.type) }
        var emailFields: [EmailField] = []
        for (profile, spec) in feed.fields.enumerated() {
            let index: Int
            switch spec.source {
            case .email(let value):
                guard let slot = slotByName[spec.name] else { preconditionFailure("the loader checked field names") }
                let conversion = value.value(sender: sender).map { text in
                    Array(text.utf8).withUnsafeBufferPointer { checks[profile].convert($0, context: context, tables: tables) }
                }
                emailFields.append(EmailField(slot: slot, profile: profile, conversion: conversion))
                continue
            case .position(let position): index = position
            case .columns(_, let position): index = position
            case .column(let name):
                let matches = (header ?? []).indices.filter { header?[$0] == name }
                guard matches.count == 1 else {
                    throw Refusal(
                        problem: Problem(
                            line: headerLine ?? 1, field: spec.name, column: name, code: matches.isEmpty ? "missing-label" : "duplicate-label",
                            message: matches.isEmpty
                                ? "the header has no column named \(name)" : "the header names \(name) \(matches.count) times: map it by position"
                        ))
                }
                index = matches[0]
            }
            guard let slot = slotByName[spec.name] else { preconditionFailure("the loader checked field names") }
            bound[spec.recordType ?? "", default: []].append(
                BoundField(
                    slot: slot, index: index, profile: profile, required: spec.required, warnOnly: spec.onInvalid == .warning, pii: spec.pii,
                    countsValues: !spec.pii && context.countsValues,
                    fromContinuation: spec.fromContinuation
                ))
        }
        let expectedCounts = fieldCounts ?? header.map { [$0.count] }
        let uniqueIndexes = feed.uniqueKey.map { names in
            bound.mapValues { fields in names.compactMap { name in fields.first { feed.fields[$0.profile].name == name }?.index } }
        }
        let positions = feed.fields.compactMap { spec -> Int? in if case .position(let p) = spec.source { p } else { nil } }
        return Plan(
            pipeline: self,
            builder: builder,
            specs: feed.fields,
            checks: checks,
            tables: tables,
            bound: bound,
            rowFields: bound[""] ?? [],
            emailFields: emailFields,
            expectedCounts: expectedCounts,
            minimumCount: expectedCounts?.min() ?? ((positions.max() ?? -1) + 1),
            header: header,
            rules: feed.rules.map { rule in BoundRule(rule: rule, slots: rule.fieldsRead.map { slotByName[$0] ?? 0 }) },
            uniqueIndexes: uniqueIndexes,
            rowUniqueIndexes: uniqueIndexes?[""],
            wantsCalls: wantsCalls,
            sha256: sha256
        )
    }
}
