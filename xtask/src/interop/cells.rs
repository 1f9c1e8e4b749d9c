//! The matrix: its cells, their outcomes, the printed table.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cell {
    OursOurs,
    OursFlask,
    OursNode,
    OursOursPolling,
    OursFlaskPolling,
    OursSeedThreading,
    OursSeedEventlet,
    NodeClientOurs,
    PyClientOurs,
    SeedPageOurs,
    SeedPageOursPolling,
    SeedPageSeedThreading,
    SeedPageSeedEventlet,
    NodeV2Ours,
    NodeV2OursPolling,
    NodeV2SeedThreading,
    NodeV2SeedEventlet,
}

impl Cell {
    pub(super) fn label(self) -> &'static str {
        match self {
            Cell::OursOurs => "our client → our server",
            Cell::OursFlask => "our client → Flask-SocketIO",
            Cell::OursNode => "our client → node socket.io",
            Cell::OursOursPolling => "our client, polling only → our server",
            Cell::OursFlaskPolling => {
                "our client → Flask-SocketIO without a websocket (no simple-websocket)"
            }
            Cell::OursSeedThreading => "our client → seed backend, threading",
            Cell::OursSeedEventlet => "our client → seed backend, eventlet",
            Cell::NodeClientOurs => "socket.io-client 4.8 (node) → our server",
            Cell::PyClientOurs => "python-socketio client → our server",
            Cell::SeedPageOurs => "the original page (socket.io-client 1.4.4) → our server",
            Cell::SeedPageOursPolling => {
                "the original page (socket.io-client 1.4.4), websockets refused → our server"
            }
            Cell::SeedPageSeedThreading => {
                "the original page (socket.io-client 1.4.4) → seed backend, threading"
            }
            Cell::SeedPageSeedEventlet => {
                "the original page (socket.io-client 1.4.4) → seed backend, eventlet"
            }
            Cell::NodeV2Ours => "socket.io-client 2.5 (node) → our server",
            Cell::NodeV2OursPolling => "socket.io-client 2.5 (node), polling only → our server",
            Cell::NodeV2SeedThreading => "socket.io-client 2.5 (node) → seed backend, threading",
            Cell::NodeV2SeedEventlet => "socket.io-client 2.5 (node) → seed backend, eventlet",
        }
    }

    /// The transport the cell ends on; its scenario fails on another.
    pub(super) fn transport(self) -> &'static str {
        match self {
            Cell::SeedPageOursPolling
            | Cell::OursOursPolling
            | Cell::OursFlaskPolling
            | Cell::OursSeedThreading
            | Cell::SeedPageSeedThreading
            | Cell::NodeV2OursPolling
            | Cell::NodeV2SeedThreading => "polling",
            _ => "websocket",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Passed,
    Failed(String),
}

/// Every required cell's outcome; a cell never recorded counts as failed.
#[derive(Default)]
pub(super) struct Cells(BTreeMap<Cell, Outcome>);

pub(super) const REQUIRED: [Cell; 17] = [
    Cell::OursOurs,
    Cell::OursFlask,
    Cell::OursNode,
    Cell::OursOursPolling,
    Cell::OursFlaskPolling,
    Cell::OursSeedThreading,
    Cell::OursSeedEventlet,
    Cell::NodeClientOurs,
    Cell::PyClientOurs,
    Cell::SeedPageOurs,
    Cell::SeedPageOursPolling,
    Cell::SeedPageSeedThreading,
    Cell::SeedPageSeedEventlet,
    Cell::NodeV2Ours,
    Cell::NodeV2OursPolling,
    Cell::NodeV2SeedThreading,
    Cell::NodeV2SeedEventlet,
];

impl Cells {
    pub(super) fn record(&mut self, cell: Cell, outcome: Outcome) {
        self.0.insert(cell, outcome);
    }

    pub(super) fn mark(&self, cell: Cell) -> &'static str {
        match self.0.get(&cell) {
            Some(Outcome::Passed) => "✓",
            _ => "✗",
        }
    }

    pub(super) fn passed(&self) -> usize {
        REQUIRED
            .iter()
            .filter(|c| self.0.get(c) == Some(&Outcome::Passed))
            .count()
    }

    /// `label: why` for every required cell that did not pass.
    pub(super) fn failures(&self) -> Vec<String> {
        REQUIRED
            .iter()
            .filter_map(|cell| match self.0.get(cell) {
                Some(Outcome::Passed) => None,
                Some(Outcome::Failed(why)) => Some(format!("{}: {why}", cell.label())),
                None => Some(format!("{}: did not run", cell.label())),
            })
            .collect()
    }

    /// The matrix in Markdown: every `{Cell}` of the template is its mark.
    pub(super) fn table(&self) -> String {
        let mut table = String::from(
            "| client ↓ / server → | our server | Flask-SocketIO 5.7 | node socket.io 4.8 | seed: Flask-SocketIO 4.3.2, threading | seed: eventlet |\n\
             |---|---|---|---|---|---|\n\
             | our client (in headless Chromium) | {OursOurs} ws, {OursOursPolling} polling only | {OursFlask} ws, {OursFlaskPolling} polling (no websocket offered) | {OursNode} ws | {OursSeedThreading} polling | {OursSeedEventlet} ws |\n\
             | socket.io-client 4.8 (node) | {NodeClientOurs} ws | (reference) | (reference) | – | – |\n\
             | python-socketio 5 client | {PyClientOurs} ws | (reference) | (reference) | – | – |\n\
             | socket.io-client 1.4.4 (the original page, Chromium) | {SeedPageOurs} ws, {SeedPageOursPolling} polling only | – | – | {SeedPageSeedThreading} polling | {SeedPageSeedEventlet} ws |\n\
             | socket.io-client 2.5 (node) | {NodeV2Ours} ws, {NodeV2OursPolling} polling only | – | – | {NodeV2SeedThreading} polling | {NodeV2SeedEventlet} ws |\n\
             \n\
             ws: ended on websocket (after a polling handshake where the client starts with one); \
             –: the protocols do not meet (Engine.IO 3 only against 4 only).\n",
        );
        for cell in REQUIRED {
            table = table.replace(&format!("{{{cell:?}}}"), self.mark(cell));
        }
        table
    }

    pub(super) fn details(&self) -> Vec<String> {
        REQUIRED
            .iter()
            .map(|cell| match self.0.get(cell) {
                Some(Outcome::Passed) => format!("  ✓ {} ({})", cell.label(), cell.transport()),
                Some(Outcome::Failed(why)) => format!("  ✗ {}: {why}", cell.label()),
                None => format!("  ✗ {}: did not run", cell.label()),
            })
            .collect()
    }
}
