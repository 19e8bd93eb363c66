// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "evprefork",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TOML", targets: ["TOML"]),
        .library(name: "EVPrefork", targets: ["EVPrefork"]),
        .executable(name: "evprefork", targets: ["evprefork"]),
        .executable(name: "toml-decode", targets: ["toml-decode"]),
        .executable(name: "hello-app", targets: ["hello-app"]),
        .executable(name: "chat-app", targets: ["chat-app"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibevent", path: "CLibevent", pkgConfig: "libevent",
                       providers: [.apt(["libevent-dev"])]),
        // A few lines of C for what needs libevent's published structs (not the shim: see its header).
        .target(name: "CLibeventInternals", dependencies: ["CLibevent"], path: "Sources/CLibeventInternals"),
        .target(name: "TOML", path: "Sources/TOML"),
        .target(name: "EVPrefork", dependencies: ["TOML", "CLibevent", "CLibeventInternals"], path: "Sources/EVPrefork"),
        .executableTarget(name: "evprefork", dependencies: [
            "EVPrefork",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/evprefork"),
        .executableTarget(name: "toml-decode", dependencies: ["TOML"], path: "Sources/toml-decode"),
        .executableTarget(name: "hello-app", dependencies: ["EVPrefork"], path: "Examples/hello"),
        .executableTarget(name: "chat-app", dependencies: ["EVPrefork"], path: "Examples/chat"),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"], path: "Tests/TOMLTests"),
        .testTarget(name: "EVPreforkTests", dependencies: ["EVPrefork"], path: "Tests/EVPreforkTests"),
    ]
)
