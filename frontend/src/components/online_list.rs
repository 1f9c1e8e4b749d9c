//! Who is online: the count, and the names in the server's presence window
//! (at most [`PRESENCE_WINDOW`]), so a crowd of 20,000 does not freeze the page.

use leptos::prelude::*;
use shared::client::PresenceView;
use shared::events::PRESENCE_WINDOW;

#[component]
pub fn OnlineList(#[prop(into)] presence: Signal<PresenceView>) -> impl IntoView {
    let count = move || presence.with(PresenceView::len);
    let shown = move || presence.with(|p| p.first(PRESENCE_WINDOW));
    let more = move || presence.with(|p| p.len().saturating_sub(p.named()));
    view! {
        <section class="online" aria-labelledby="online-title">
            <h2 id="online-title">
                <span data-testid="online-count">{count}</span>
                " online"
            </h2>
            <ul data-testid="online-list">
                <For each=shown key=|user| (user.id.clone(), user.name.clone()) let(user)>
                    <li>{user.name}</li>
                </For>
            </ul>
            <Show when=move || { more() > 0 }>
                <p class="more" data-testid="online-more">{move || format!("and {} more", more())}</p>
            </Show>
        </section>
    }
}
