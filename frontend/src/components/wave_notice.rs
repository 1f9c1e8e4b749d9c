//! "Ada waved at you", shown for a few seconds, and what became of this
//! page's own last wave. Both are polite live regions: announced, never
//! interrupting.

use std::time::Duration;

use leptos::prelude::*;
use shared::events::Waved;

/// How long a wave stays on screen.
pub const WAVE_SHOWN_FOR: Duration = Duration::from_secs(5);

#[component]
pub fn WaveNotice(
    #[prop(into)] waved: Signal<Option<(u32, Waved)>>,
    #[prop(into)] result: Signal<Option<String>>,
) -> impl IntoView {
    // Each wave is numbered: a timer clears only the wave it was set for.
    let shown = RwSignal::new(None::<(u32, Waved)>);
    Effect::new(move || {
        let Some(wave) = waved.get() else { return };
        let number = wave.0;
        shown.set(Some(wave));
        set_timeout(
            move || {
                if shown.with_untracked(|s| s.as_ref().is_some_and(|s| s.0 == number)) {
                    shown.set(None);
                }
            },
            WAVE_SHOWN_FOR,
        );
    });
    let text = move || {
        shown.with(|s| {
            s.as_ref()
                .map(|(_, w)| [&w.name, " waved at you 👋"].concat())
        })
    };
    view! {
        <p class="waved" role="status" aria-live="polite" data-testid="waved">{text}</p>
        <p class="wave-result" role="status" aria-live="polite" data-testid="wave-result">{move || result.get()}</p>
    }
}
