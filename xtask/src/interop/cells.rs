//! The matrix: its cells, their outcomes, the printed table.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cell {
    OursOurs,
    OursFlask,
    OursNode,
    NodeClientOurs,
    PyClientOurs,
}

impl Cell {
    pub(super) fn label(self) -> &'static str {
        match self {
            Cell::OursOurs => "our client → our server",
            Cell::OursFlask => "our client → Flask-SocketIO",
            Cell::OursNode => "our client → node socket.io",
            Cell::NodeClientOurs => "socket.io-client 4.8 (node) → our server",
            Cell::PyClientOurs => "python-socketio client → our server",
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

pub(super) const REQUIRED: [Cell; 5] = [
    Cell::OursOurs,
    Cell::OursFlask,
    Cell::OursNode,
    Cell::NodeClientOurs,
    Cell::PyClientOurs,
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

    pub(super) fn table(&self) -> String {
        let m = |cell| self.mark(cell);
        format!(
            "| client ↓ / server → | our server | Flask-SocketIO | node socket.io |\n\
             |---|---|---|---|\n\
             | our client (in headless Chromium) | {} | {} | {} |\n\
             | socket.io-client 4.8 (node) | {} | (reference) | (reference) |\n\
             | python-socketio client | {} | (reference) | (reference) |\n",
            m(Cell::OursOurs),
            m(Cell::OursFlask),
            m(Cell::OursNode),
            m(Cell::NodeClientOurs),
            m(Cell::PyClientOurs),
        )
    }

    pub(super) fn details(&self) -> Vec<String> {
        REQUIRED
            .iter()
            .map(|cell| match self.0.get(cell) {
                Some(Outcome::Passed) => format!("  ✓ {}", cell.label()),
                Some(Outcome::Failed(why)) => format!("  ✗ {}: {why}", cell.label()),
                None => format!("  ✗ {}: did not run", cell.label()),
            })
            .collect()
    }
}
