import Glibc

/// Zeroed memory that a manager maps before it forks, so that it and its
/// workers see the same words. Unmapped with its owner.
final class SharedMemory<Word>: @unchecked Sendable {
    let words: UnsafeMutablePointer<Word>
    private let bytes: Int

    struct MapError: Error { var message: String }

    init(count: Int) throws(MapError) {
        bytes = count * MemoryLayout<Word>.stride
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw MapError(message: "mmap: \(String(cString: strerror(errno)))")
        }
        words = p.bindMemory(to: Word.self, capacity: count)
    }

    deinit { munmap(words, bytes) }
}
