//! "Ada waved at you 👋" (the connection sets it and clears it after a few
//! seconds), and what became of this page's own last wave. Both are polite
//! live regions: announced, never interrupting.

use leptos::prelude::*;

#[component]
pub fn WaveNotice(
    waved: RwSignal<Option<String>>,
    result: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        <p class="waved" role="status" aria-live="polite" data-testid="waved">{move || waved.get()}</p>
        <p class="wave-result" role="status" aria-live="polite" data-testid="wave-result">{move || result.get()}</p>
    }
}
