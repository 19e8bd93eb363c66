/// The mutable tree the parser builds (tables are shared references so that
/// headers and dotted keys can reach into them), and its conversion to the
/// public `TOMLTable` model once the document is complete.

final class TableNode {
    enum Kind {
        case root
        /// Created as a parent of a `[header]` or `[[header]]`, e.g. `a` in `[a.b]`.
        case implicit
        /// Defined by its own `[header]`.
        case header
        /// Created (or extended) by dotted keys, e.g. `a` in `a.b = 1`.
        case dotted
        /// An element of an array of tables, opened by `[[header]]`.
        case arrayElement
        /// `{ ... }`, frozen into a `TOMLValue` as soon as it is closed.
        case inline
    }

    enum Slot {
        /// A scalar, a static array or an inline table: complete and immutable.
        case value(TOMLValue)
        case table(TableNode)
        case tables(TableArray)
    }

    struct Entry {
        var key: String
        var keyPosition: TOMLPosition
        /// The value's position (tables keep their own).
        var valuePosition: TOMLPosition
        var slot: Slot
    }

    var kind: Kind
    /// How deep it is nested (the root is 0); bounded by `Parser.maxTableDepth`
    /// so that deeply dotted keys cannot exhaust the stack either.
    let depth: Int
    /// Set once the table may no longer be opened by a `[header]` nor
    /// extended by dotted keys from another section: when a header defines
    /// it, or when the section in which dotted keys created or went through
    /// it ends.
    var explicit = false
    /// Where it was opened (see TOMLTable.position).
    var position: TOMLPosition
    /// For a table defined by dotted keys: the first key part that did.
    var dottedAt: TOMLPosition?
    var entries: [Entry] = []
    var index: [String: Int] = [:]

    init(kind: Kind, position: TOMLPosition, depth: Int) {
        self.kind = kind
        self.position = position
        self.depth = depth
    }

    /// A new table nested in this one, created by the key part at `position`.
    func child(kind: Kind, position: TOMLPosition, keyAt keyPosition: TOMLPosition) throws(TOMLError) -> TableNode {
        if depth >= Parser.maxTableDepth {
            throw TOMLError("tables are nested more than \(Parser.maxTableDepth) deep", at: keyPosition)
        }
        return TableNode(kind: kind, position: position, depth: depth + 1)
    }

    func lookup(_ key: String) -> Int? { index[key] }

    func append(_ key: String, at keyPosition: TOMLPosition, valueAt valuePosition: TOMLPosition, _ slot: Slot) {
        index[key] = entries.count
        entries.append(Entry(key: key, keyPosition: keyPosition, valuePosition: valuePosition, slot: slot))
    }

    func toTOMLTable() -> TOMLTable {
        var out: [TOMLEntry] = []
        out.reserveCapacity(entries.count)
        for e in entries {
            let node: TOMLNode
            switch e.slot {
            case .value(let v):
                node = TOMLNode(v, at: e.valuePosition)
            case .table(let t):
                node = TOMLNode(.table(t.toTOMLTable()), at: t.position)
            case .tables(let a):
                node = TOMLNode(.array(a.elements.map { TOMLNode(.table($0.toTOMLTable()), at: $0.position) }),
                                at: a.elements[0].position)
            }
            out.append(TOMLEntry(key: e.key, keyPosition: e.keyPosition, node: node))
        }
        return TOMLTable(entries: out, position: position)
    }
}

/// An array of tables (`[[name]]`); never empty.
final class TableArray {
    var elements: [TableNode]
    init(first: TableNode) { elements = [first] }
}
