import Foundation
import Testing

@testable import BatchLayer

@Suite("Migrations")
struct MigrationsTests {
    static var sqlDirectory: URL {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.appendingPathComponent("sql")
    }

    @Test func embeddedMigrationsMatchTheSQLDirectory() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.sqlDirectory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == Migrations.all.map(\.name))
        for (index, migration) in Migrations.all.enumerated() {
            #expect(migration.number == index + 1)
            let text = try String(contentsOf: Self.sqlDirectory.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(text == migration.sql, "Sources/BatchLayer/Migrations.swift is out of date with sql/\(migration.name)")
        }
    }

    @Test func statementsAreSplitOneByOneWithoutComments() {
        let statements = Migrations.statements("-- a comment\nCREATE TABLE a (x int);\n\n-- another\nCREATE INDEX b ON a (x);\n")
        #expect(statements == ["CREATE TABLE a (x int)", "CREATE INDEX b ON a (x)"])
        #expect(Migrations.all.allSatisfy { !Migrations.statements($0.sql).isEmpty })
    }
}
