import EVPrefork
import Glibc
import XCTest

/// A scratch folder per test, so relative paths and `root` checks have a real
/// directory to resolve against.
final class ScratchDirectory {
    let path: String
    init() {
        var template = Array("/tmp/evprefork-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        mkdir(path + "/public", 0o755)
        FileMaker.write(path + "/file.txt", "x")
    }
    deinit { _ = system("rm -rf '\(path)'") }
}

enum FileMaker {
    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }
}

extension XCTestCase {
    /// Parses `text` as `server.conf` in a scratch folder.
    func parse(_ text: String, in dir: ScratchDirectory = ScratchDirectory(),
               file: StaticString = #filePath, line: UInt = #line) -> Result<Config, ConfigError> {
        Result { () throws(ConfigError) -> Config in
            try Config.parse(Array(text.utf8), file: "server.conf", directory: dir.path)
        }
    }

    func valid(_ text: String, in dir: ScratchDirectory = ScratchDirectory(),
               file: StaticString = #filePath, line: UInt = #line) -> Config? {
        switch parse(text, in: dir) {
        case .success(let c): return c
        case .failure(let e):
            XCTFail("unexpected errors:\n\(e)", file: file, line: line)
            return nil
        }
    }

    /// The error lines for `text`, which must be invalid.
    func errors(_ text: String, in dir: ScratchDirectory = ScratchDirectory(),
                file: StaticString = #filePath, line: UInt = #line) -> [String] {
        switch parse(text, in: dir) {
        case .success:
            XCTFail("expected an error for:\n\(text)", file: file, line: line)
            return []
        case .failure(let e): return e.diagnostics.map(\.description)
        }
    }

    /// Asserts exactly one error, with this text.
    func assertError(_ text: String, _ expected: String, in dir: ScratchDirectory = ScratchDirectory(),
                     file: StaticString = #filePath, line: UInt = #line) {
        let got = errors(text, in: dir, file: file, line: line)
        XCTAssertEqual(got, [expected], file: file, line: line)
    }
}
