//! The connection status line: always visible, announced to screen readers.

use app_client::ConnectionState;
use leptos::prelude::*;

/// The sentence shown for a state.
pub fn status_text(state: &ConnectionState) -> String {
    match state {
        ConnectionState::Connecting { attempt: 0 } => "Connecting…".to_owned(),
        ConnectionState::Connecting { attempt } => format!("Reconnecting (attempt {attempt})…"),
        ConnectionState::Connected => "Connected".to_owned(),
        ConnectionState::Reconnecting {
            attempt, delay_ms, ..
        } => format!(
            "Reconnecting (attempt {attempt}, next try in {} s)",
            delay_ms.div_ceil(1000)
        ),
        ConnectionState::Offline { reason } => format!("Offline: {reason}"),
    }
}

/// A CSS class per state, for the coloured dot.
fn status_class(state: &ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected => "status connected",
        ConnectionState::Connecting { .. } | ConnectionState::Reconnecting { .. } => {
            "status connecting"
        }
        ConnectionState::Offline { .. } => "status offline",
    }
}

/// `<p role="status" aria-live="polite">`: polite, so it never interrupts typing.
#[component]
pub fn Status(state: RwSignal<ConnectionState>) -> impl IntoView {
    view! {
        <p class=move || state.with(status_class) role="status" aria-live="polite" data-testid="status">
            {move || state.with(status_text)}
        </p>
    }
}
