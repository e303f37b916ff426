public import HummingbirdCore
public import Logging

/// At most `maximum` connections open at once (``ConnectionLimits/maxConnections``). Hummingbird stops accepting
/// while the limit is reached, so new connections wait in the listen backlog; reaching the limit and leaving it are
/// each logged once, so an operator sees why clients wait.
public struct ConnectionCap: AvailableConnectionsDelegate {
    let maximum: Int
    let logger: Logger
    var open = 0

    public init(maximum: Int, logger: Logger) {
        self.maximum = maximum
        self.logger = logger
    }

    public mutating func connectionOpened() {
        open += 1
        if open == maximum {
            logger.warning(
                "connection limit reached: new connections wait in the listen backlog until one closes",
                metadata: ["openConnections": "\(open)", "maxConnections": "\(maximum)"])
        }
    }

    public mutating func connectionClosed() {
        if open == maximum {
            logger.info("connections below the limit again", metadata: ["openConnections": "\(open - 1)", "maxConnections": "\(maximum)"])
        }
        open -= 1
    }

    public func isAcceptingNewConnections() -> Bool { open < maximum }
}
