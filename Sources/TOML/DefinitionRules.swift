/// Where each header and key/value pair goes, and every rule about what may
/// be defined where: duplicate keys, tables defined twice, tables defined by
/// dotted keys, inline tables and static arrays being immutable, arrays of
/// tables. The rules are those of TOML 1.0 as Python's tomllib applies them.

struct DocumentBuilder {
    let root: TableNode
    /// The table of the current section (the root until the first header).
    var current: TableNode
    /// Tables that dotted keys created or went through in the current
    /// section; they become explicit when the section ends.
    var pending: [TableNode] = []

    init(root: TableNode) {
        self.root = root
        self.current = root
    }

    /// A header ends the current section.
    mutating func finishSection() {
        for t in pending { t.explicit = true }
        pending.removeAll(keepingCapacity: true)
    }

    /// `key = value` in the current section.
    mutating func assign(_ parts: [KeyPart], _ node: TOMLNode) throws(TOMLError) {
        try DocumentBuilder.insert(parts, node, into: current, inSection: true, pending: &pending)
    }

    /// Inserts a (dotted) key/value pair into `base`. `inSection`: `base` is a
    /// section's table (rather than an inline table), so tables defined
    /// elsewhere may not be extended and the tables gone through are recorded
    /// in `pending`.
    static func insert(_ parts: [KeyPart], _ node: TOMLNode, into base: TableNode,
                       inSection: Bool, pending: inout [TableNode]) throws(TOMLError) {
        var table = base
        for k in 0..<parts.count - 1 {
            let part = parts[k]
            if let idx = table.lookup(part.name) {
                let entry = table.entries[idx]
                let path = quotedKey(parts[0...k].map(\.name))
                switch entry.slot {
                case .table(let t):
                    if inSection && t.explicit {
                        if t.kind == .header {
                            throw TOMLError("cannot add \(quotedKey(parts.map(\.name))) with dotted keys: table \(path) is defined by its own header (at \(t.position))", at: part.position)
                        }
                        throw TOMLError("cannot add \(quotedKey(parts.map(\.name))): table \(path) was defined by dotted keys in another section (at \(t.dottedAt ?? entry.keyPosition))", at: part.position)
                    }
                    table = t
                case .tables(let a):
                    throw TOMLError("cannot add \(quotedKey(parts.map(\.name))) with dotted keys: \(path) is an array of tables (defined at \(a.elements[0].position))", at: part.position)
                case .value(let v):
                    throw TOMLError("cannot add \(quotedKey(parts.map(\.name))): \(notATable(path, v, definedAt: entry.keyPosition))", at: part.position)
                }
            } else {
                let t = try table.child(kind: .dotted, position: part.position, keyAt: part.position)
                t.dottedAt = part.position
                table.append(part.name, at: part.position, valueAt: part.position, .table(t))
                table = t
            }
            if inSection {
                if table.kind == .implicit {
                    table.kind = .dotted
                    table.dottedAt = part.position
                }
                pending.append(table)
            }
        }
        let last = parts[parts.count - 1]
        if let idx = table.lookup(last.name) {
            throw TOMLError("duplicate key \(quotedKey(parts.map(\.name))) (first defined at \(table.entries[idx].keyPosition))", at: last.position)
        }
        table.append(last.name, at: last.position, valueAt: node.position, .value(node.value))
    }

    /// `[a.b.c]`: defines a table (once), creating its parents as needed.
    mutating func openTable(_ parts: [KeyPart], at bracket: TOMLPosition) throws(TOMLError) {
        let header = "[" + displayKey(parts.map(\.name)) + "]"
        let parent = try walkHeaderParents(parts, header: header)
        let last = parts[parts.count - 1]
        guard let idx = parent.lookup(last.name) else {
            let t = try parent.child(kind: .header, position: bracket, keyAt: last.position)
            t.explicit = true
            parent.append(last.name, at: last.position, valueAt: bracket, .table(t))
            current = t
            return
        }
        let entry = parent.entries[idx]
        switch entry.slot {
        case .table(let t):
            if t.explicit {
                if t.kind == .header {
                    throw TOMLError("table \(header) is already defined (at \(t.position))", at: last.position)
                }
                throw TOMLError("table \(header) is already defined by dotted keys (at \(t.dottedAt ?? entry.keyPosition))", at: last.position)
            }
            t.explicit = true
            t.kind = .header
            t.position = bracket
            parent.entries[idx].keyPosition = last.position
            current = t
        case .tables(let a):
            throw TOMLError("table \(header) is already defined as an array of tables (at \(a.elements[0].position))", at: last.position)
        case .value(let v):
            throw TOMLError("cannot define table \(header): \(notATable(quotedKey(parts.map(\.name)), v, definedAt: entry.keyPosition))", at: last.position)
        }
    }

    /// `[[a.b.c]]`: appends a table to an array of tables, creating it (and
    /// parents) as needed.
    mutating func openArrayTable(_ parts: [KeyPart], at bracket: TOMLPosition) throws(TOMLError) {
        let header = "[[" + displayKey(parts.map(\.name)) + "]]"
        let parent = try walkHeaderParents(parts, header: header)
        let last = parts[parts.count - 1]
        let element = try parent.child(kind: .arrayElement, position: bracket, keyAt: last.position)
        guard let idx = parent.lookup(last.name) else {
            parent.append(last.name, at: last.position, valueAt: bracket, .tables(TableArray(first: element)))
            current = element
            return
        }
        let entry = parent.entries[idx]
        let name = quotedKey(parts.map(\.name))
        switch entry.slot {
        case .tables(let a):
            a.elements.append(element)
            current = element
        case .table(let t):
            throw TOMLError("cannot define array of tables \(header): \(name) is already a table (defined at \(t.kind == .header ? t.position : entry.keyPosition))", at: last.position)
        case .value(let v):
            if case .array = v {
                throw TOMLError("cannot append to static array \(name) defined at \(entry.keyPosition) with \(header)", at: last.position)
            }
            throw TOMLError("cannot define array of tables \(header): \(notATable(name, v, definedAt: entry.keyPosition))", at: last.position)
        }
    }

    /// Goes down to the table that will hold a header's last key, creating
    /// missing parents; an array of tables leads to its last element.
    private func walkHeaderParents(_ parts: [KeyPart], header: String) throws(TOMLError) -> TableNode {
        var table = root
        for k in 0..<parts.count - 1 {
            let part = parts[k]
            if let idx = table.lookup(part.name) {
                let entry = table.entries[idx]
                switch entry.slot {
                case .table(let t):
                    table = t
                case .tables(let a):
                    table = a.elements[a.elements.count - 1]
                case .value(let v):
                    let path = quotedKey(parts[0...k].map(\.name))
                    throw TOMLError("cannot define \(header): \(notATable(path, v, definedAt: entry.keyPosition))", at: part.position)
                }
            } else {
                let t = try table.child(kind: .implicit, position: part.position, keyAt: part.position)
                table.append(part.name, at: part.position, valueAt: part.position, .table(t))
                table = t
            }
        }
        return table
    }
}

/// Why a value cannot be used as a table.
private func notATable(_ path: String, _ value: TOMLValue, definedAt: TOMLPosition) -> String {
    switch value {
    case .table:
        "\(path) is an inline table (defined at \(definedAt)), which cannot be extended"
    case .array:
        "\(path) is a static array (defined at \(definedAt)), which cannot be extended"
    default:
        "\(path) is \(withArticle(value)) (defined at \(definedAt)), not a table"
    }
}
