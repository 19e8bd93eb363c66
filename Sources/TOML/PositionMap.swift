/// Turns byte offsets into 1-based line/column positions (columns count
/// Unicode scalars). Requests come nearly in increasing order while parsing, so
/// it scans forward from the last answer; a request behind it (only when
/// reporting an error) rescans from the start.
final class PositionMap {
    private let bytes: [UInt8]
    private let start: Int
    private var index: Int
    private var line = 1
    private var column = 1

    init(_ bytes: [UInt8], start: Int) {
        self.bytes = bytes
        self.start = start
        self.index = start
    }

    func position(at target: Int) -> TOMLPosition {
        if target < index {
            index = start; line = 1; column = 1
        }
        let stop = min(target, bytes.count)
        bytes.withUnsafeBufferPointer { p in
            var j = index, l = line, c = column
            while j < stop {
                let b = p[j]
                if b == 0x0A {
                    l += 1; c = 1
                } else if b & 0xC0 != 0x80 {
                    c += 1
                }
                j += 1
            }
            index = j; line = l; column = c
        }
        // A position past the end (end of file) is one column after the last character.
        return TOMLPosition(line: line, column: column + max(0, target - stop))
    }
}
